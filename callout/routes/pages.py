"""The campaign page: plain HTML, CSS and JavaScript served by the service, in the console's look."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from core.pages import page_headers

router = APIRouter(tags=["campaigns: pages"], include_in_schema=False)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
HEADERS = page_headers()


@router.get("/console/campaigns", response_class=FileResponse)
async def campaigns_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "campaigns.html", headers=HEADERS)


@router.get("/console/campaigns/campaigns.js", response_class=FileResponse)
async def campaigns_script() -> FileResponse:
    return FileResponse(STATIC_DIR / "campaigns.js", media_type="text/javascript", headers=HEADERS)


@router.get("/console/campaigns/campaigns.css", response_class=FileResponse)
async def campaigns_style() -> FileResponse:
    return FileResponse(STATIC_DIR / "campaigns.css", media_type="text/css", headers=HEADERS)
