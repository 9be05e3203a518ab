"""The console pages: plain HTML, CSS and JavaScript served by the service (no CDN)."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(tags=["console: pages"], include_in_schema=False)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Every text on these pages comes from citizens or colleagues: scripts only from us, no inline code.
HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/console", response_class=FileResponse)
async def console_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "console.html", headers=HEADERS)


@router.get("/console/supervisor", response_class=FileResponse)
async def supervisor_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "supervisor.html", headers=HEADERS)
