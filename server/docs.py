"""`/api/docs`: Swagger UI for the service's OpenAPI description, served from a packaged copy.

FastAPI's own docs page loads Swagger UI from a public CDN, which the centre's network (and any
offline installation) cannot reach: the page stayed blank. Here the page, the Swagger UI files
(the `swagger-ui-bundle-v2` package) and the small script that starts it all come from this
service, under the same content security policy as every other page: no inline code.
"""
from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle  # type: ignore[import-untyped]  # (ships no type information)
from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from core.pages import page_headers

DOCS_PATH = "/api/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
START_JS = Path(__file__).parent / "static" / "docs-start.js"

router = APIRouter(include_in_schema=False)

_PAGE = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>接口文档 · 住房公积金全媒体客服</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{DOCS_PATH}/start.js"></script>
</body>
</html>
"""


@router.get(DOCS_PATH, response_class=HTMLResponse)
async def docs_page() -> HTMLResponse:
    # Swagger UI sets element styles from script (allowed by style-src 'self') and shows data: images.
    return HTMLResponse(_PAGE, headers=page_headers())


@router.get(f"{DOCS_PATH}/start.js")
async def docs_start() -> FileResponse:
    return FileResponse(START_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


def install(app: FastAPI) -> None:
    """The page, its starter script, and the Swagger UI files as static files beside them."""
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=SWAGGER_DIR), name="docs-assets")
