"""Build the knowledge index from the live articles when they (or the parameters) changed.

    python -m knowledge.ingest            # import new or changed seed files; build only if something changed
    python -m knowledge.ingest --force    # always build
    python -m knowledge.ingest --check    # validate the seed files, placeholders and inputs, build nothing

The live articles are the latest versions in DATABASE_URL (knowledge/editing.py); the files in
knowledge/articles/ are their seed. `ensure_index` builds from the files alone, for tests and
benchmarks that need no database.
"""
from __future__ import annotations

import argparse
import asyncio
import sys

from core.db import make_engine, make_sessionmaker, migrate
from core.settings import Settings, get_settings
from knowledge.articles import ArticleError, load_articles
from knowledge.builder import IndexBuilder, Outcome, policy_of
from knowledge.encoders import make_encoder
from knowledge.index import Sources, build_index, needs_build
from knowledge.scope import negative_sources
from knowledge.tokenize import shared_tokenizer
from policy.params import ParamError, load_params


def sources_for(settings: Settings) -> Sources:
    return Sources(
        settings.knowledge_dir, settings.loan_params_path.parent, settings.dictionary_dir,
        negative_sources(settings.knowledge_scope_bot_examples),
    )


def _progress(stage: str, done: int, total: int) -> None:
    end = "\n" if done >= total else "\r"
    print(f"  {stage}: {done}/{total}", end=end, file=sys.stderr, flush=True)


def ensure_index(settings: Settings, force: bool = False, progress=_progress) -> str | None:
    """Build from the article files if needed; returns the new build's name, or None when the
    current one is up to date."""
    encoder = make_encoder(settings.embedding_model)
    sources = sources_for(settings)
    policy = policy_of(settings)
    if not force and not needs_build(settings.index_dir, sources, encoder.name, policy):
        return None
    tokenizer = shared_tokenizer(settings.dictionary_dir)
    return build_index(settings.index_dir, sources, encoder, tokenizer, progress, policy)


async def ensure_live_index(settings: Settings, force: bool = False, progress=_progress) -> Outcome:
    """Migrate, import the seed, and build from the live articles in the database if needed."""
    await asyncio.to_thread(migrate, settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        encoder = make_encoder(settings.embedding_model)
        builder = IndexBuilder.for_settings(settings, make_sessionmaker(engine), encoder)
        return await builder.prepare(settings.knowledge_dir, force=force, progress=progress)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    parser.add_argument(
        "--check", action="store_true", help="validate the seed articles and that every input of the index is there"
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        if args.check:
            sources = sources_for(settings)
            articles = load_articles(settings.knowledge_dir, load_params(sources.params_dir))
            sources.check()  # the image build fails here when it left an input out
            print(f"{len(articles)} articles OK")
            return 0
        outcome = asyncio.run(ensure_live_index(settings, force=args.force))
    except (ArticleError, ParamError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("index built" if outcome == Outcome.BUILT else "index up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
