"""Alembic environment: migrates on the connection `core.db.migrate` hands over (which holds the
migration lock), or on DATABASE_URL when run from the alembic command line."""
from alembic import context
from sqlalchemy import create_engine, pool

import agent_console.models  # noqa: F401  (registers tables on Base.metadata)
import callout.models  # noqa: F401
import channels.voice.models  # noqa: F401
import channels.wechat.models  # noqa: F401
import conversations.models  # noqa: F401
import knowledge.models  # noqa: F401
import outreach.models  # noqa: F401
import ratings.models  # noqa: F401
import staff.models  # noqa: F401
from core.db import Base
from core.settings import get_settings, normalise_db_url

config = context.config


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if (given := config.attributes.get("connection")) is not None:
    run(given)
else:
    engine = create_engine(normalise_db_url(get_settings().database_url, sync=True), poolclass=pool.NullPool)
    with engine.connect() as connection:
        run(connection)
    engine.dispose()
