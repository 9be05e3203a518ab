"""The running service's parts, found by their type.

The app's lifespan builds each part once (the settings, the database's session factory, the bus, the
hub, the knowledge base, the channels' and the console's services) and provides it here; every package
asks for what it needs by type, through its own dependencies, without knowing the packages above it.
One `Services` lives on `app.state.services` for the life of the app.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from typing_extensions import is_protocol

T = TypeVar("T")
# The class a part is known by. Typed as a callable rather than `type[T]` so that a protocol (EventBus)
# can name a part too: mypy accepts only concrete classes where `type[T]` is asked for.
Kind = Callable[..., T]


class ServiceMissing(LookupError):
    """A part was asked for that this service never provided (a wiring mistake, not a citizen's)."""


class Services:
    def __init__(self) -> None:
        self._parts: dict[type[Any], object] = {}

    def provide(self, kind: Kind[T], value: T) -> None:
        """Make `value` the one `kind` of this service (a second call replaces the first)."""
        if not isinstance(kind, type):
            raise TypeError(f"a part is known by its class, not by {kind!r}")
        # A protocol checks no instance; a class does, so a wrong part fails here and not at first use.
        if not is_protocol(kind) and not isinstance(value, kind):
            raise TypeError(f"{_name(kind)} provided as a {type(value).__qualname__}")
        self._parts[kind] = value

    def get(self, kind: Kind[T]) -> T:
        try:
            return cast(T, self._parts[cast(type[Any], kind)])
        except KeyError:
            raise ServiceMissing(f"no {_name(kind)} in this service: the app's lifespan provides it at start") from None

    def find(self, kind: Kind[T]) -> T | None:
        """The part, or None where it is optional and this service runs without it."""
        return cast("T | None", self._parts.get(cast(type[Any], kind)))

    def __contains__(self, kind: object) -> bool:
        return kind in self._parts


def _name(kind: Callable[..., object]) -> str:
    return f"{kind.__module__}.{getattr(kind, '__qualname__', kind)}"


def services_of(source: HTTPConnection | Starlette) -> Services:
    """The services of the app that serves this request or socket (or of the app itself)."""
    app = source.app if isinstance(source, HTTPConnection) else source
    services = getattr(app.state, "services", None)
    if not isinstance(services, Services):
        raise ServiceMissing("the app has no services: they are built by its lifespan (use the app as a context)")
    return services
