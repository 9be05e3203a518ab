"""Build the knowledge index from the articles when they (or the parameters) changed.

    python -m knowledge.ingest            # build only if something changed
    python -m knowledge.ingest --force    # always build
    python -m knowledge.ingest --check    # validate articles and placeholders, build nothing
"""
from __future__ import annotations

import argparse
import sys

from core.settings import Settings, get_settings
from knowledge.articles import ArticleError, load_articles
from knowledge.encoders import make_encoder
from knowledge.index import Sources, build_index, needs_build
from knowledge.params import ParamError, load_params
from knowledge.tokenize import shared_tokenizer


def sources_for(settings: Settings) -> Sources:
    return Sources(settings.knowledge_dir, settings.loan_params_path.parent, settings.dictionary_dir)


def _progress(stage: str, done: int, total: int) -> None:
    end = "\n" if done >= total else "\r"
    print(f"  {stage}: {done}/{total}", end=end, file=sys.stderr, flush=True)


def ensure_index(settings: Settings, force: bool = False, progress=_progress) -> str | None:
    """Build if needed; returns the new build's name, or None when the current one is up to date."""
    encoder = make_encoder(settings.embedding_model)
    sources = sources_for(settings)
    if not force and not needs_build(settings.index_dir, sources, encoder.name):
        return None
    return build_index(settings.index_dir, sources, encoder, shared_tokenizer(settings.dictionary_dir), progress)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    parser.add_argument("--check", action="store_true", help="validate articles only")
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        if args.check:
            articles = load_articles(settings.knowledge_dir, load_params(sources_for(settings).params_dir))
            print(f"{len(articles)} articles OK")
            return 0
        build = ensure_index(settings, force=args.force)
    except (ArticleError, ParamError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"index built: {build}" if build else "index up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
