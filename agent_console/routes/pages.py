"""The console pages: plain HTML, CSS and JavaScript served by the service (no CDN)."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from core.pages import page_headers

router = APIRouter(tags=["console: pages"], include_in_schema=False)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
HEADERS = page_headers()


@router.get("/console", response_class=FileResponse)
async def console_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "console.html", headers=HEADERS)


@router.get("/console/supervisor", response_class=FileResponse)
async def supervisor_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "supervisor.html", headers=HEADERS)
