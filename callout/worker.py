"""A separate worker for the campaign engine's task queue: `python -m callout.worker [--workers N]`.

Production runs one or more beside the service processes (CALLOUT_WORKERS=0 there, CALLOUT_QUEUE=redis):
they dispatch campaigns, settle stale attempts and send fall-back messages. Killed at any moment (even
`kill -9`), nothing is lost or doubled: the next dispatcher carries on from the database.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import threading

from callout.startup import build
from core.db import make_engine, make_sessionmaker, migrate
from core.logmask import configure_logging
from core.settings import get_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the outbound-call task queue's workers (Huey).")
    parser.add_argument("--workers", type=int, default=4, help="worker threads (default 4)")
    args = parser.parse_args(argv)
    settings = get_settings()
    secrets = [settings.session_secret.get_secret_value(), settings.twilio_auth_token.get_secret_value(),
               settings.wechat_secret.get_secret_value(), settings.app_push_secret.get_secret_value()]
    configure_logging(secrets)
    migrate(settings.database_url)
    # The dialer is async: its coroutines run on this loop, in a thread of its own, while Huey's
    # consumer owns the main thread (and the signals that stop it).
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="callout-loop", daemon=True).start()
    engine = make_engine(settings.database_url)
    callout, queue = build(settings, make_sessionmaker(engine))
    queue.bind(callout, loop)
    asyncio.run_coroutine_threadsafe(queue.resume_running(), loop).result(timeout=60)
    logging.getLogger(__name__).info("callout worker started with %s threads", args.workers)
    queue.consumer(args.workers).run()


if __name__ == "__main__":
    main()
