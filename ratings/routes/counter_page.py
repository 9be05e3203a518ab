"""What a counter window's QR code opens (`/rate/c/<token>`, no login) and the rating it sends
(`POST /api/v1/ratings/counter`). The token is the only key: a forged, altered or reissued one gets a
Chinese page (403, `counter_token_invalid` in `data-code` and `X-Rating-Code`) and nothing is recorded.
Both are limited per address (RATING_COUNTER_LIMIT a window), so a flood is refused with 429."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.limits import RATE_LIMITED, by_address
from core.pages import page_headers
from ratings import counter_page, counters
from ratings.deps import RatingsDep
from ratings.levels import Level
from ratings.record import RECORD_ERRORS

router = APIRouter(tags=["ratings: counter"])
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
TOKEN = r"^[A-Za-z0-9_.-]{1,160}$"
HEADERS = page_headers(cache="no-store")
_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
PAGE_LIMIT = [Depends(by_address("rating_counter_page", kind="counter"))]
POST_LIMIT = [Depends(by_address("rating_counter", kind="counter"))]


@router.get("/rate/c/{token}", response_class=HTMLResponse, dependencies=PAGE_LIMIT,
            summary="The counter rating page a window's QR code opens (a new visit each time)",
            responses={**error_responses(INVALID_REQUEST, RATE_LIMITED, route_answers_json=False),
                       403: {"description": "refused: counter_token_invalid", **_HTML}})
async def counter_rating_page(token: str, ratings: RatingsDep) -> HTMLResponse:
    centre = ratings.settings.centre_name
    async with ratings.sessions() as session:
        try:
            window = await counters.window_of(session, ratings.settings, token)
        except ApiError as refused:
            body = counter_page.refusal(centre=centre, code=refused.code, title="二维码无法使用",
                                        message=refused.message)
            return HTMLResponse(body, status_code=refused.status,
                                headers={**HEADERS, "X-Rating-Code": refused.code})
        view = await counters.view(session, window)
    visit = counters.visit_token(ratings.settings, window, ratings.clock.now())
    return HTMLResponse(counter_page.page(centre=centre, view=view, visit=visit), headers=HEADERS)


class CounterRatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visit: str = Field(pattern=TOKEN, description="the visit token the page was given when it opened")
    # Not bounded here: 0 or 6 gets the stable 422 `rating_level_invalid` from the recording itself.
    level: int = Field(description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意")
    reasons: list[str] = Field(default_factory=list, max_length=10)
    comment: str | None = Field(None, max_length=2000, description="plain text; shown as text everywhere")


class CounterRatingOut(BaseModel):
    id: int
    level: int
    label: str


@router.post("/api/v1/ratings/counter", status_code=201, response_model=CounterRatingOut, dependencies=POST_LIMIT,
             summary="Rate a counter visit (one rating per visit)",
             responses=error_responses(INVALID_REQUEST, counters.REFUSALS, RECORD_ERRORS, RATE_LIMITED))
async def rate_counter(body: CounterRatingIn, ratings: RatingsDep) -> dict:
    async with ratings.sessions() as session:
        rating = await counters.rate(ratings, session, visit=body.visit, level=body.level, reasons=body.reasons,
                                     comment=body.comment)
        return {"id": rating.id, "level": rating.level, "label": Level(rating.level).label}


@router.get("/ratings/static/counter.css", response_class=FileResponse, include_in_schema=False)
async def counter_style() -> FileResponse:
    return FileResponse(STATIC_DIR / "counter.css", media_type="text/css",
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/ratings/static/counter.js", response_class=FileResponse, include_in_schema=False)
async def counter_script() -> FileResponse:
    return FileResponse(STATIC_DIR / "counter.js", media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=300"})
