"""Alembic environment: runs migrations synchronously against DATABASE_URL (or the URL passed in)."""
from alembic import context
from sqlalchemy import create_engine, pool

import channels.models  # noqa: F401  (registers tables on Base.metadata)
from core.db import Base
from core.settings import get_settings, normalise_db_url

config = context.config
url = config.attributes.get("database_url") or normalise_db_url(get_settings().database_url, sync=True)


def run() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
