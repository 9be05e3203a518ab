"""Typed events for the bus, and the one registry that turns wire JSON back into them.

Each package declares its own events (`conversations/events.py`, `agent_console/events.py`) as
subclasses of `Event` with a `type` name; defining the class registers it. On the wire an event is a
flat JSON object, `{"type": …, <fields>}` (the bus adds `"topic"`), exactly what the citizen page and
the console page read, so a field's name is part of the pages' contract.

Only the fields a publisher gave go on the wire: an event that leaves an optional field out is sent
without it, as the pages have always received it.
"""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class WireError(ValueError):
    """A wire object that is no event this service knows (unknown type, missing or wrong fields)."""


class DuplicateEventType(TypeError):
    pass


class Registry:
    def __init__(self) -> None:
        self._classes: dict[str, type[Event]] = {}

    def add(self, cls: type[Event]) -> None:
        name = getattr(cls, "type", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{cls.__qualname__} needs a `type` name")
        known = self._classes.get(name)
        if known is not None and known is not cls:
            # Two meanings for one name would make every subscriber guess which one it got.
            raise DuplicateEventType(f"event type {name!r} is taken by {known.__module__}.{known.__qualname__}")
        self._classes[name] = cls

    def get(self, name: str) -> type[Event] | None:
        return self._classes.get(name)

    def names(self) -> list[str]:
        return sorted(self._classes)

    def from_wire(self, data: object) -> Event:
        if not isinstance(data, dict):
            raise WireError(f"an event is a JSON object, not {type(data).__name__}")
        name = data.get("type")
        cls = self._classes.get(name) if isinstance(name, str) else None
        if cls is None:
            raise WireError(f"unknown event type {name!r}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise WireError(f"malformed {name!r} event: {exc.error_count()} field error(s)") from exc


REGISTRY = Registry()


class Event(BaseModel):
    """One thing that happened, for whoever listens; the database stays the record."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: ClassVar[str]
    # Where the event arrived from, filled in by the bus on delivery (a subscriber of several topics
    # tells them apart); never part of the event's own fields on the wire.
    topic: str = Field(default="", exclude=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            REGISTRY.add(cls)

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.type, **self.model_dump(mode="json", exclude_unset=True)}

    @staticmethod
    def from_wire(data: object) -> Event:
        """The registered event for a wire object; `WireError` for anything else."""
        return REGISTRY.from_wire(data)

    def delivered_on(self, topic: str) -> Event:
        return self.model_copy(update={"topic": topic})
