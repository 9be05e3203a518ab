"""Values past what the database holds are the request's fault: 422 invalid_request, not 500."""
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError

from core.errors import install_error_handlers


class _PgOutOfRange(Exception):
    pass


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/sqlite")
    async def sqlite_overflow() -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    @app.get("/postgres")
    async def postgres_out_of_range() -> None:
        raise DataError("SELECT 1", {}, _PgOutOfRange("integer out of range"))

    @app.get("/bug")
    async def bug() -> None:
        raise ZeroDivisionError

    return app


def test_out_of_range_values_are_invalid_requests():
    with TestClient(_app(), raise_server_exceptions=False) as client:
        for path in ("/sqlite", "/postgres"):
            reply = client.get(path)
            assert reply.status_code == 422, path
            assert reply.json()["code"] == "invalid_request"
        assert client.get("/bug").status_code == 500  # other failures stay ours
