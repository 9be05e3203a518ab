"""Assembling the service: settings, database, bus, knowledge base, hub and every router."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console import availability, startup
from agent_console.routes import ROUTERS as CONSOLE_ROUTERS
from agent_console.routes import STATIC_DIR as CONSOLE_STATIC_DIR
from callout import startup as callout
from callout.routes import ROUTERS as CALLOUT_ROUTERS
from channels import app_api, voice, web
from channels.voice import twilio_voice, webrtc
from channels.wechat import routes as wechat
from conversations.bot_client import RasaClient
from conversations.buttons import StaleChoices
from conversations.handoff import Handoffs
from conversations.hub import Hub
from core.bus import EventBus, make_bus
from core.db import make_engine, make_sessionmaker, migrate
from core.errors import install_error_handlers
from core.limits import BodySizeLimit, RateLimiter
from core.logmask import configure_logging
from core.metrics import RequestMetrics
from core.services import Services
from core.settings import Settings, get_settings
from knowledge import admin_api as knowledge_admin_api
from knowledge import api as knowledge_api
from knowledge import media_api
from knowledge.builder import IndexBuilder, IndexWatcher
from knowledge.encoders import make_encoder
from knowledge.media import Limits, MediaLibrary
from knowledge.search import KnowledgeBase
from knowledge.tokenize import shared_tokenizer
from outreach import startup as outreach
from outreach.routes import ROUTERS as OUTREACH_ROUTERS
from policy import checklist_api, loan_api, schedule_page
from ratings import startup as ratings
from ratings.routes import ROUTERS as RATINGS_ROUTERS
from server import docs, health, probes, profile

log = logging.getLogger(__name__)


def _secrets(settings: Settings) -> list[str]:
    secrets = (
        settings.session_secret, settings.app_api_key, settings.bot_api_key, settings.wechat_token,
        settings.wechat_aes_key, settings.wechat_secret, settings.twilio_auth_token, settings.outreach_business_secret,
        settings.app_push_secret,
    )
    return [secret.get_secret_value() for secret in secrets]


async def _load_knowledge(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> tuple[KnowledgeBase, IndexWatcher]:
    """Import new seed articles, make sure the index matches the live articles, and keep it so."""
    encoder = await run_in_threadpool(make_encoder, settings.embedding_model)
    builder = IndexBuilder.for_settings(settings, sessions, encoder)
    await builder.prepare(settings.knowledge_dir)
    watcher = IndexWatcher(builder, settings.knowledge_watch_s)
    watcher.start()
    knowledge = KnowledgeBase(settings.index_dir, encoder, shared_tokenizer(settings.dictionary_dir))
    await run_in_threadpool(knowledge.warm_up)
    return knowledge, watcher


# The routes that take file uploads (multipart): the only ones allowed bodies past MAX_BODY_BYTES.
UPLOAD_PATHS = (r"/api/v1/campaigns/import", r"/api/v1/outreach/suppressions/import", media_api.UPLOAD_PATTERN)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(_secrets(settings), fmt=settings.log_format)
        await run_in_threadpool(migrate, settings.database_url)
        engine = make_engine(settings.database_url)
        # Every part once, known by its type; routers' own lifespans (WeChat, checklists) run inside
        # this one and find them here.
        services = app.state.services = Services()
        services.provide(Settings, settings)
        limiter = app.state.rate_limiter = RateLimiter.from_settings(settings)
        sessions = make_sessionmaker(engine)
        services.provide(async_sessionmaker, sessions)
        bus = make_bus(settings.redis_url)
        services.provide(EventBus, bus)
        bot = RasaClient(settings.rasa_url, timeout_s=settings.bot_timeout_s)
        services.provide(RasaClient, bot)
        knowledge, watcher = await _load_knowledge(settings, sessions)
        services.provide(KnowledgeBase, knowledge)
        services.provide(IndexWatcher, watcher)
        # One door to a person, shared by the channels and the hub (which uses it when Rasa cannot answer).
        handoffs = Handoffs()
        services.provide(Handoffs, handoffs)
        media = MediaLibrary(sessions, settings.data_dir / "media", Limits(
            image_bytes=settings.knowledge_media_image_mb * 1024 * 1024,
            video_bytes=settings.knowledge_media_video_mb * 1024 * 1024))
        services.provide(MediaLibrary, media)
        services.provide(
            Hub, Hub(sessions, bus, bot, knowledge, settings.hotline, settings.bot_timeout_s, handoffs=handoffs,
                     media=media)
        )
        alive = asyncio.create_task(services.get(Hub).keep_alive(), name="hub-heartbeat")
        await voice.start(services)
        await startup.start(services)  # the console's clock: escalation, duty expiry, queue positions
        await ratings.start(services)  # 好差评: ratings on every channel, rectification, analysis, standing
        await outreach.start(services)  # 服务找人: the centre's data, segments, links, cards, the funnel
        await callout.start(services)  # campaigns: the task queue and its workers, running campaigns resumed
        # Last of the hub's interceptors: a spent choice replayed gets the current ones (conversations/buttons.py).
        services.get(Hub).register_interceptor(StaleChoices(services.get(Hub)))
        try:
            yield
        finally:
            alive.cancel()
            with contextlib.suppress(Exception):  # the database may be what is stopping
                await services.get(Hub).stopped()
            await callout.stop(services)
            await outreach.stop(services)
            await ratings.stop(services)
            await startup.stop(services)
            await voice.stop(services)
            await watcher.stop()
            await bot.close()
            await bus.close()
            await limiter.close()
            await engine.dispose()

    app = FastAPI(
        title="住房公积金全媒体客服",
        version="1.0.0",
        lifespan=lifespan,
        docs_url=None,  # served from a packaged copy by server.docs: no CDN
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, upload_max_bytes=settings.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    app.add_middleware(RequestMetrics)  # outermost: times and counts every request, refused ones too
    for module in (
        health, probes, profile, web, app_api, knowledge_api, loan_api, schedule_page, checklist_api, availability,
        twilio_voice,
        webrtc,
    ):
        app.include_router(module.router)
    app.include_router(knowledge_admin_api.router)
    app.include_router(media_api.router)
    app.include_router(wechat.router)  # carries its own lifespan, run inside the app's (after the hub exists)
    for router in CONSOLE_ROUTERS:
        app.include_router(router)
    for router in RATINGS_ROUTERS:
        app.include_router(router)
    for router in OUTREACH_ROUTERS:
        app.include_router(router)
    for router in CALLOUT_ROUTERS:
        app.include_router(router)
    docs.install(app)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC_DIR), name="console-static")
    return app
