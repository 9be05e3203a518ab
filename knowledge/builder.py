"""Keeping the index in step with the live articles, with one builder at a time across processes.

Every service process runs an `IndexWatcher`: every KNOWLEDGE_WATCH_S it compares the newest article
version id (and the parameter and dictionary files) with what it last checked. When they changed, it
writes the live articles to a snapshot folder and compares that folder's fingerprint with the
current build's. A stale index is rebuilt only by the holder of the build lease, a database row taken
with a conditional UPDATE that one process wins; the others keep serving and look again at their
next tick. The new build is published by index.py's atomic swap of `CURRENT`, and every process's
KnowledgeBase loads it on its next search, so a search never fails and never sees half a build.

The lease is about order and work, not safety: a holder that stalls past its lease and a successor
would each publish a complete build, and the watcher rebuilds if the later one is not the newest.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import rowcount, utcnow
from core.metrics import INDEX_BUILD_SECONDS
from core.settings import Settings
from knowledge.articles import content_hash
from knowledge.editing import Editor, LiveArticles
from knowledge.encoders import Encoder
from knowledge.index import Progress, Sources, VectorPolicy, build_index, current_manifest, file_inputs, needs_build
from knowledge.models import INDEX_LEASE, BuildLease
from knowledge.scope import NEGATIVE_SOURCES, negative_sources
from knowledge.search import KnowledgeBase
from knowledge.tokenize import Tokenizer, shared_tokenizer

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    FRESH = "fresh"  # the current build already matches the live articles
    BUILT = "built"  # this process built and published a new one
    BUSY = "busy"    # stale, but another process holds the lease


def policy_of(settings: Settings) -> VectorPolicy:
    return VectorPolicy(
        threshold=settings.knowledge_ann_threshold, hnsw_m=settings.knowledge_hnsw_m,
        ef_construction=settings.knowledge_hnsw_ef_construction, ef_search=settings.knowledge_hnsw_ef_search,
    )


class IndexBuilder:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], editor: Editor, *, index_dir: Path, params_dir: Path,
        dictionary_dir: Path | None, encoder: Encoder, tokenizer: Tokenizer, policy: VectorPolicy,
        lease_s: float = 120.0, negative_files: tuple[Path, ...] = NEGATIVE_SOURCES,
    ) -> None:
        self._sessions = sessions
        self.editor = editor
        self._index_dir = index_dir
        self._params_dir = params_dir
        self._dictionary_dir = dictionary_dir
        self._negative_files = negative_files
        self._encoder = encoder
        self._tokenizer = tokenizer
        self._policy = policy
        self._lease = timedelta(seconds=lease_s)
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    @classmethod
    def for_settings(
        cls, settings: Settings, sessions: async_sessionmaker[AsyncSession], encoder: Encoder
    ) -> IndexBuilder:
        params_dir = settings.loan_params_path.parent
        return cls(
            sessions, Editor(sessions, params_dir), index_dir=settings.index_dir, params_dir=params_dir,
            dictionary_dir=settings.dictionary_dir, encoder=encoder,
            tokenizer=shared_tokenizer(settings.dictionary_dir), policy=policy_of(settings),
            lease_s=settings.knowledge_build_lease_s,
            negative_files=negative_sources(settings.knowledge_scope_bot_examples),
        )

    async def prepare(self, seed_dir: Path, *, force: bool = False, progress: Progress | None = None) -> Outcome:
        """At start: import new or changed seed files, then make sure the current index matches the
        live articles (building it, or waiting for the process that is)."""
        imported = await self.editor.import_seeds(seed_dir)
        if imported:
            log.info("imported %d seed article(s): %s", len(imported), ", ".join(i["article_id"] for i in imported))
        return await self.ensure_current(wait=True, force=force, progress=progress)

    def inputs_fingerprint(self) -> str:
        """The index's inputs besides the articles (parameters, dictionary, synonyms, the scope model's
        examples): cheap to hash."""
        folders = [self._params_dir] + ([self._dictionary_dir] if self._dictionary_dir else [])
        return content_hash(*folders, extra=file_inputs(self._negative_files))

    async def ensure_current(
        self, *, wait: bool = False, force: bool = False, progress: Progress | None = None
    ) -> Outcome:
        """Build if the index is stale (or `force`) and the lease is ours; with `wait`, wait for
        another process's build instead of returning BUSY."""
        while True:
            if not force and not await self._stale(await self.editor.live()):
                return Outcome.FRESH
            if await self._take_lease():
                try:
                    return await self._build_if_stale(force, progress)
                finally:
                    await self._release()
            if not wait:
                return Outcome.BUSY
            await asyncio.sleep(0.5)

    async def _build_if_stale(self, force: bool, progress: Progress | None) -> Outcome:
        # Read again under the lease: the previous holder may have just built this very state.
        live = await self.editor.live()
        async with self._snapshot(live) as sources:
            if not force and not needs_build(self._index_dir, sources, self._encoder.name, self._policy):
                return Outcome.FRESH
            heartbeat = asyncio.create_task(self._keep_lease())
            started = time.perf_counter()
            try:
                build = await asyncio.to_thread(
                    build_index, self._index_dir, sources, self._encoder, self._tokenizer, progress, self._policy
                )
            finally:
                heartbeat.cancel()
            INDEX_BUILD_SECONDS.observe(time.perf_counter() - started)
        log.info("knowledge index %s built from %d live articles (revision %d)", build, len(live.contents),
                 live.revision)
        return Outcome.BUILT

    async def _stale(self, live: LiveArticles) -> bool:
        async with self._snapshot(live) as sources:
            return needs_build(self._index_dir, sources, self._encoder.name, self._policy)

    @asynccontextmanager
    async def _snapshot(self, live: LiveArticles) -> AsyncIterator[Sources]:
        """The live articles as files named like the seed (`<id>.md`): the same articles give the
        same fingerprint whether they came from the repository or from the database."""
        self._index_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".snapshot-", dir=self._index_dir) as folder:
            for article_id, content in live.contents.items():
                (Path(folder) / f"{article_id}.md").write_text(content, encoding="utf-8")
            yield Sources(Path(folder), self._params_dir, self._dictionary_dir, self._negative_files)

    # -- the lease ----------------------------------------------------------------------------------

    async def _take_lease(self) -> bool:
        now = utcnow()
        async with self._sessions() as session:
            result = await session.execute(
                update(BuildLease)
                .where(BuildLease.name == INDEX_LEASE, or_(BuildLease.until.is_(None), BuildLease.until < now))
                .values(owner=self.owner, until=now + self._lease, acquired_at=now)
            )
            await session.commit()
        return rowcount(result) == 1

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            async with self._sessions() as session:
                result = await session.execute(
                    update(BuildLease).where(BuildLease.name == INDEX_LEASE, BuildLease.owner == self.owner)
                    .values(until=utcnow() + self._lease)
                )
                await session.commit()
            if rowcount(result) != 1:
                log.warning("knowledge build lease lost by %s; the build continues and is checked after", self.owner)
                return

    async def _release(self) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(BuildLease).where(BuildLease.name == INDEX_LEASE, BuildLease.owner == self.owner)
                .values(owner=None, until=None)
            )
            await session.commit()


class IndexWatcher:
    """Each process's loop that notices changes (from any process or the CLI) and gets them built."""

    def __init__(self, builder: IndexBuilder, every_s: float) -> None:
        self._builder = builder
        self._every_s = every_s
        self._checked: tuple[int, str] | None = None
        self._poked = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="knowledge-index-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    def poke(self) -> None:
        """Look now rather than at the next tick (after a change made through this process)."""
        self._poked.set()

    async def check(self) -> Outcome | None:
        """One look; None when nothing changed since the last one that found the index current."""
        key = (await self._builder.editor.revision(), self._builder.inputs_fingerprint())
        if key == self._checked:
            return None
        outcome = await self._builder.ensure_current()
        if outcome != Outcome.BUSY:  # busy: the holder may build an older state; look again next tick
            self._checked = key
        return outcome

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("knowledge index check failed; retrying in %.0f s", self._every_s)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), self._every_s)
            self._poked.clear()


async def index_status(
    sessions: async_sessionmaker[AsyncSession], editor: Editor, kb: KnowledgeBase | None, index_dir: Path
) -> dict:
    """The index this process serves (its size, exact or approximate and with which parameters), the
    newest article version, and whether a build is under way (and by whom)."""
    manifest = kb.index.manifest if kb is not None and kb.ready else current_manifest(index_dir) or {}
    async with sessions() as session:
        lease = await session.get(BuildLease, INDEX_LEASE)
    building = None
    if lease is not None and lease.until is not None and lease.until > utcnow():
        building = {"owner": lease.owner, "until": lease.until.isoformat()}
    return {
        "build": kb.index.build if kb is not None and kb.ready else None,
        "revision": await editor.revision(),
        "manifest": manifest,
        "building": building,
    }
