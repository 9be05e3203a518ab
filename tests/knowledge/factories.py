"""Actors and the live index for the knowledge-operations tests (their articles: tests/corpus.py)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.builder import IndexBuilder
from knowledge.editing import Editor
from knowledge.encoders import Encoder
from knowledge.index import VectorPolicy
from knowledge.tokenize import Tokenizer
from staff.audit import Actor

ALICE = Actor(id=None, name="alice", role="cli")
BOB = Actor(id=None, name="bob", role="cli")


def make_builder(
    sessions: async_sessionmaker[AsyncSession], root: Path, encoder: Encoder, tokenizer: Tokenizer,
    policy: VectorPolicy | None = None,
) -> IndexBuilder:
    """A builder over `root/index`, with the repository's parameter files."""
    params_dir = Path(__file__).resolve().parents[2] / "policy" / "params"
    return IndexBuilder(
        sessions, Editor(sessions, params_dir), index_dir=root / "index", params_dir=params_dir, dictionary_dir=None,
        encoder=encoder, tokenizer=tokenizer, policy=policy or VectorPolicy(), lease_s=30,
    )
