"""A backup and a restore, performed: the service's PostgreSQL database with conversations and the
append-only audit trail is dumped by scripts/backup.sh, restored by scripts/restore.sh into another
database (over whatever was there), and the copy has the same rows, the same schema version, and its
audit trail still refuses changes (the triggers came back too)."""
from __future__ import annotations

import subprocess
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from core.db import migrate
from core.settings import normalise_db_url
from tests.conftest import ROOT
from tests.databases import postgres_database, reset_postgres

pytestmark = pytest.mark.postgres
TABLES = ("citizens", "conversations", "messages", "audit_log", "alembic_version")


def rows(url: str) -> dict[str, list]:
    engine = create_engine(normalise_db_url(url, sync=True))
    try:
        with engine.connect() as conn:
            return {table: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {table}")).all()), key=repr)
                    for table in TABLES}
    finally:
        engine.dispose()


def test_backup_then_restore_into_another_database(postgres_url, tmp_path):
    source = postgres_database(postgres_url, "backup_source")
    target = postgres_database(postgres_url, "backup_target")
    for url in (source, target):
        reset_postgres(url)
    migrate(source)
    migrate(target)  # the target has a schema (and data) of its own: the restore replaces it
    engine = create_engine(normalise_db_url(source, sync=True))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO citizens (id, created_at) VALUES ('c1', now())"))
        conn.execute(text("INSERT INTO conversations (id, citizen_id, channel, status, created_at, updated_at) "
                          "VALUES ('v1', 'c1', 'web', 'bot', now(), now())"))
        for n in range(3):
            conn.execute(text("INSERT INTO messages (conversation_id, channel, direction, author, text, payload, "
                              "created_at) VALUES ('v1', 'web', 'in', 'citizen', :t, '{}', now())"),
                         {"t": f"第{n}条：租房提取要什么材料"})
        conn.execute(text("INSERT INTO audit_log (at, actor, role, action, target, detail) "
                          "VALUES (now(), 'admin', 'admin', 'login', 'agent:1', '{}')"))
    engine.dispose()

    dump = tmp_path / f"hpf-{uuid.uuid4().hex[:6]}.dump"
    made = subprocess.run([ROOT / "scripts" / "backup.sh", "--url", source, str(dump)], capture_output=True,
                          text=True, check=True)
    assert made.stdout.strip() == str(dump) and dump.stat().st_size > 0
    subprocess.run([ROOT / "scripts" / "restore.sh", "--url", target, str(dump)], capture_output=True, text=True,
                   check=True)

    assert rows(target) == rows(source)
    assert len(rows(target)["messages"]) == 3
    engine = create_engine(normalise_db_url(target, sync=True))
    try:
        with engine.begin() as conn, pytest.raises(DBAPIError):
            conn.execute(text("DELETE FROM audit_log"))  # still append-only
    finally:
        engine.dispose()


def test_a_restore_without_a_file_says_how(postgres_url):
    refused = subprocess.run([ROOT / "scripts" / "restore.sh", "--url", postgres_url], capture_output=True, text=True)
    assert refused.returncode == 2 and "usage" in refused.stderr
