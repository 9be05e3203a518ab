"""What a personal 一点就能办 link opens (`/o/<token>`): the page, its checklist answers and "去办理".

No login: the token is the key, so every answer is careful. A refused link (tampered, unknown, expired,
revoked, business withdrawn) gets a Chinese page or error naming why and nothing about the person; the
stable code rides in `X-Outreach-Code` and the page's `data-code`. Every page is `no-store` and sends no
Referer, so the token stays out of caches and out of the business system's logs.
"""
from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask

from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.limits import RATE_LIMITED, by_address, by_path_param
from core.pages import page_headers
from outreach import funnel, handoff, link_page, links
from outreach.context import Outreach
from outreach.deps import OutreachDep
from outreach.links import Business, LinkRefused
from outreach.models import OutreachLink
from policy.checklist_rules import Checklist, ChecklistError
from policy.deps import checklists_for
from policy.eligibility import AnswerError, Result, check_answers, next_step, question_body

log = logging.getLogger(__name__)
router = APIRouter(tags=["outreach: link pages"])
# The page's POSTs, per address and per link (a link is one citizen's).
LINK_POST_LIMITS = [Depends(by_address("link_pages")), Depends(by_path_param("link_pages", "token"))]
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
TOKEN = r"^[A-Za-z0-9_.-]{1,128}$"
# One person's page, never cached; no form-action, so 去办理's 303 to the business form may leave.
HEADERS = page_headers(cache="no-store", form_action=False)
REFUSALS = {403: ("link_invalid",), 404: ("link_not_found",),
            410: ("link_expired", "link_revoked", "business_withdrawn")}
_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}


def _refused_page(outreach: Outreach, refused: LinkRefused) -> HTMLResponse:
    body = link_page.refusal(outreach.settings.centre_name, refused.code, refused.title, refused.message)
    return HTMLResponse(body, status_code=refused.status, headers={**HEADERS, "X-Outreach-Code": refused.code})


def _refused_error(refused: LinkRefused) -> ApiError:
    return ApiError(refused.status, refused.code, refused.message)


def _checklist(outreach: Outreach, link: OutreachLink) -> Checklist | None:
    offered = links.business(outreach.settings, link.business)
    if offered is None:
        return None
    try:
        checklists = checklists_for(outreach.settings)
    except ChecklistError:
        # The files are broken mid-edit (logged where they are read): the page still offers the form.
        return None
    return links.checklist_for(checklists, offered, link.checklist)


def _data_answers(checklist: Checklist, link: OutreachLink) -> dict[str, object]:
    """The answers the centre's data gave that this checklist can take; one it cannot (a question
    renamed since the campaign) is left for the citizen to answer rather than guessed."""
    usable: dict[str, object] = {}
    for question_id, value in (link.answers or {}).items():
        try:
            usable.update(check_answers(checklist, {question_id: value}))
        except AnswerError:
            log.warning("link %s: the data's answer to %s does not fit the checklist; asked instead",
                        link.id, question_id[:64])
    return usable


async def _found(session: AsyncSession, outreach: Outreach, token: str,
                 now: datetime) -> tuple[OutreachLink, Business] | HTMLResponse:
    """The link a page was opened with and the business it offers, or the refusal page (nothing disclosed)."""
    try:
        link = await links.resolve(session, outreach.settings, token, now)
    except LinkRefused as refused:
        return _refused_page(outreach, refused)
    offered = links.business(outreach.settings, link.business)
    assert offered is not None  # resolve refuses a business no longer offered
    return link, offered


async def _reach(session: AsyncSession, link: OutreachLink, stage: funnel.Stage, at: datetime) -> None:
    await funnel.record(session, subject=funnel.link_subject(link.id, link.recipient_id), stage=stage,
                        campaign_id=link.campaign_id, segment=link.segment, channel=link.channel,
                        business=link.business, at=at)


@router.get("/o/{token}", response_class=HTMLResponse, summary="A personal 一点就能办 page",
            responses={**error_responses(INVALID_REQUEST, route_answers_json=False),
                       **{status: {"description": "refused: " + ", ".join(codes), **_HTML}
                          for status, codes in REFUSALS.items()}})
async def open_link(token: str, outreach: OutreachDep) -> HTMLResponse:
    now = outreach.clock.now()
    async with outreach.sessions() as session:
        found = await _found(session, outreach, token, now)
        if isinstance(found, HTMLResponse):
            return found
        link, offered = found
        checklist = _checklist(outreach, link)
        answers = _data_answers(checklist, link) if checklist is not None else {}
        step = next_step(checklist, answers) if checklist is not None else None
        body = link_page.page(
            centre=outreach.settings.centre_name, hotline=outreach.settings.hotline, token=token,
            business_name=offered.name, facts=link.facts or {}, checklist=checklist, answers=answers, step=step,
        )
    # The open is counted once the page is on its way: the citizen does not wait for the write.
    opened = BackgroundTask(_count_open, outreach, link.id, at=now)
    return HTMLResponse(body, headers=HEADERS, background=opened)


async def _count_open(outreach: Outreach, link_id: str, *, at: datetime) -> None:
    """`opens` + 1, and on the first open `opened_at` and the funnel's `opened` (once, whatever races),
    written with the other opens of the moment (outreach.link_opens)."""
    await outreach.opens.record(link_id, at)


class ChecklistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: dict[str, bool | float | str] = Field(default_factory=dict, max_length=50)


class QuestionOut(BaseModel):
    id: str
    text: str
    type: str
    choices: list[dict[str, str]]
    min: float | None = None
    max: float | None = None
    unit: str | None = None


class ChecklistStep(BaseModel):
    done: bool
    question: QuestionOut | None = None
    outcome: Literal["eligible", "not_eligible", "review"] | None = None
    reasons: list[str] = Field(default_factory=list)
    documents: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    text: str | None = None


@router.post("/o/{token}/checklist", response_model=ChecklistStep, response_model_exclude_unset=True,
             summary="The next question for the citizen's answers, or the outcome with the documents",
             dependencies=LINK_POST_LIMITS,
             responses=error_responses(INVALID_REQUEST, {
                 **REFUSALS, 404: ("link_not_found", "no_checklist"),
                 422: ("invalid_answer", "unknown_question", "answer_out_of_range"),
             }, RATE_LIMITED))
async def answer_checklist(token: str, body: ChecklistIn, outreach: OutreachDep) -> dict[str, Any]:
    """The citizen's answers together with the ones the centre's data gave (those win: the page shows
    them as settled). Reaching an outcome counts the link's `checklist` stage once."""
    now = outreach.clock.now()
    async with outreach.sessions() as session:
        try:
            link = await links.resolve(session, outreach.settings, token, now)
        except LinkRefused as refused:
            raise _refused_error(refused) from None
        checklist = _checklist(outreach, link)
        if checklist is None:
            raise ApiError(404, "no_checklist", "这项业务没有需要自查的条件，可以直接办理。")
        try:
            step = next_step(checklist, {**body.answers, **_data_answers(checklist, link)})
        except AnswerError as exc:
            raise ApiError(422, exc.code, exc.message, question=exc.question) from exc
        if not isinstance(step, Result):
            return {"done": False, "question": question_body(step)}
        if link.checklist_done_at is None:
            link.checklist_done_at = now
            await _reach(session, link, funnel.Stage.CHECKLIST, now)
            await session.commit()
        return {"done": True, "outcome": step.outcome, "reasons": step.reasons, "documents": step.documents,
                "warnings": step.warnings, "text": step.text}


@router.post("/o/{token}/go", response_class=RedirectResponse, status_code=303, response_model=None,
             summary="To the online business form, with a signed hand-off", dependencies=LINK_POST_LIMITS,
             responses={**error_responses(INVALID_REQUEST, RATE_LIMITED, route_answers_json=False),
                        303: {"description": "to the business form, `?hpf_handoff=<payload>.<signature>`"},
                        **{status: {"description": "refused: " + ", ".join(codes), **_HTML}
                           for status, codes in REFUSALS.items()}})
async def go(token: str, outreach: OutreachDep) -> RedirectResponse | HTMLResponse:
    now = outreach.clock.now()
    async with outreach.sessions() as session:
        found = await _found(session, outreach, token, now)
        if isinstance(found, HTMLResponse):
            return found
        link, offered = found
        value = handoff.make(outreach.settings.outreach_business_secret.get_secret_value(), link_id=link.id,
                             business=link.business, depositor_ref=link.depositor_ref, now=now)
        if link.handed_off_at is None:
            link.handed_off_at = now
            await _reach(session, link, funnel.Stage.HANDED_OFF, now)
            await session.commit()
    joiner = "&" if "?" in offered.url else "?"
    return RedirectResponse(f"{offered.url}{joiner}{handoff.PARAM}={value}", status_code=303, headers=HEADERS)


@router.get("/outreach/static/link.css", response_class=FileResponse, include_in_schema=False)
async def link_style() -> FileResponse:
    return FileResponse(STATIC_DIR / "link.css", media_type="text/css",
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/outreach/static/link.js", response_class=FileResponse, include_in_schema=False)
async def link_script() -> FileResponse:
    return FileResponse(STATIC_DIR / "link.js", media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=300"})
