"""The WeChat channel's parts, assembled once per service process from the settings and the shared
database, bus and hub; started and stopped with the service."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.wechat.api import Closer, WeChatApi, build_api
from channels.wechat.background import Background
from channels.wechat.edge import Edge, Mode
from channels.wechat.inbound import Texts
from channels.wechat.menu import Menu, load_menu
from channels.wechat.outbox import Outbox
from channels.wechat.render import Renderer
from channels.wechat.turns import Turns
from conversations.hub import Hub
from conversations.models import Channel
from core.bus import EventBus
from core.deps import ServicesDep
from core.errors import ApiError
from core.services import Services, services_of
from core.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 10.0  # pushes in flight get this long to finish when the service stops
HOUSEKEEPING_S = 3600.0



@dataclass
class WeChat:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    edge: Edge
    api: WeChatApi
    menu: Menu
    texts: Texts
    renderer: Renderer
    outbox: Outbox
    turns: Turns
    background: Background
    closers: list[Closer]


def _mode(settings: Settings) -> str:
    if settings.wechat_mode:
        return settings.wechat_mode
    return Mode.COMPATIBLE if settings.wechat_aes_key.get_secret_value() else Mode.PLAIN


def start(services: Services) -> WeChat:
    settings, hub = services.get(Settings), services.get(Hub)
    sessions = services.get(async_sessionmaker)
    api, closers = build_api(settings, sessions)
    menu = load_menu(settings.wechat_menu_file, None)
    renderer = Renderer(settings.public_base_url)
    background = Background()
    outbox = Outbox(
        api=api, sessions=sessions, hub=hub, bus=services.get(EventBus), renderer=renderer, background=background
    )
    edge = Edge(
        token=settings.wechat_token.get_secret_value(),
        aes_key=settings.wechat_aes_key.get_secret_value(),
        appid=settings.wechat_appid,
        mode=_mode(settings),
    )
    turns = Turns(
        hub=hub,
        sessions=sessions,
        outbox=outbox,
        renderer=renderer,
        background=background,
        budget_s=settings.wechat_reply_budget_s,
    )
    return WeChat(
        settings=settings, sessions=sessions, edge=edge, api=api, menu=menu, texts=Texts(settings.hotline, menu),
        renderer=renderer, outbox=outbox, turns=turns, background=background, closers=closers,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs inside the app's own lifespan (FastAPI nests router lifespans), so the hub exists."""
    services = services_of(app)
    settings = services.get(Settings)
    if not settings.wechat_token.get_secret_value():
        yield  # no WeChat here: its routes answer wechat_disabled
        return
    wechat = start(services)
    services.provide(WeChat, wechat)
    services.get(Hub).register_pusher(Channel.WECHAT, wechat.outbox.push)
    log.info("WeChat channel on (%s mode)", _mode(settings))
    housekeeping = asyncio.create_task(_housekeeping(wechat.turns))
    try:
        yield
    finally:
        housekeeping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await housekeeping
        await wechat.background.drain(SHUTDOWN_GRACE_S)
        for close in wechat.closers:
            await close()


async def _housekeeping(turns: Turns) -> None:
    while True:
        try:
            await turns.forget_pushed()
        except Exception:  # the database may be briefly away; try again next time
            log.exception("wechat: housekeeping failed")
        await asyncio.sleep(HOUSEKEEPING_S)


def get_wechat(services: ServicesDep) -> WeChat:
    wechat = services.find(WeChat)
    if wechat is None:
        raise ApiError(404, "wechat_disabled", "微信公众号渠道未开启。")
    return wechat


WeChatDep = Annotated[WeChat, Depends(get_wechat)]
