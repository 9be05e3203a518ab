"""The line's standing: every agent's rolling score and its parts (supervisors), one's own score, rank and
suspension (any agent), appeals and the supervisor's review, manual suspension, the monthly performance
sheet (绩效考核) and the leaderboard every agent sees (比着创优: display names and scores, nothing of
citizens). Every change and every file export is in the audit trail."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from agent_console.context import Console
from core.deps import ServicesDep
from core.errors import INVALID_REQUEST, ApiError, error_responses
from ratings import sheet, standing, suspensions
from ratings.context import Ratings
from ratings.deps import RatingsDep
from ratings.models import Suspension
from staff import audit
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, CurrentAgent, Supervisor
from staff.models import Agent

router = APIRouter(prefix="/api/v1/console", tags=["ratings: standing"])
CHANGE = (SIGNED_IN_ERRORS, CSRF_ERRORS, INVALID_REQUEST)
MONTH_ERRORS = {422: ("month_invalid",)}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def find_console(services: ServicesDep) -> Console | None:
    """The console, to take a suspended agent off duty; absent where the console does not run."""
    return services.find(Console)


ConsoleOrNone = Annotated[Console | None, Depends(find_console)]


# -- shapes ----------------------------------------------------------------------------------------

class SuspensionOut(BaseModel):
    id: int
    agent_id: int
    display_name: str | None = None
    state: str = Field(description="suspended (pending review) | upheld | readmitted")
    rule: str = Field(description="low_score | verified_bad | manual")
    score: float | None = Field(description="the rolling score when suspended")
    detail: dict = Field(description="the score's parts and counts when the rules suspended")
    note: str | None = Field(description="the supervisor's reason for a manual suspension")
    created_at: str | None
    created_by: int | None = Field(description="the supervisor; null: the rules")
    appeal_note: str | None
    appealed_at: str | None
    decided_at: str | None
    decided_by: int | None
    decision_note: str | None
    readmitted_at: str | None
    message: str = Field(description="the notice as the agent's console shows it")


class StandingRow(BaseModel):
    agent_id: int
    display_name: str
    department: str | None
    score: float | None = Field(description="0-100; null: nothing in the window")
    rank: int | None
    parts: dict[str, float | None] = Field(description="ratings, response, handling, grabs: 0-100 each")
    penalty: float = Field(description="points taken off for verified bad ratings")
    ratings: int
    levels: dict[str, int]
    marked: int
    verified_bad: int
    first_response_s: float | None
    handling_s: float | None
    grabs: int
    handled: int
    suspension: SuspensionOut | None = Field(description="the open suspension, if any")


class StandingOut(BaseModel):
    formula: dict
    agents: list[StandingRow]
    suspensions: list[SuspensionOut] = Field(description="open ones first, then the newest")


class MyStandingOut(BaseModel):
    formula: dict
    me: StandingRow
    ranked: int = Field(description="how many agents have a rank")
    suspensions: list[SuspensionOut] = Field(description="my suspensions, the open one first")


class LeaderRow(BaseModel):
    rank: int | None
    display_name: str
    score: float | None
    ratings: int
    me: bool


class LeaderboardOut(BaseModel):
    period: str = Field(description="the rolling window (last N days) or the month asked for")
    agents: list[LeaderRow]


class SheetFigures(BaseModel):
    levels: dict[str, int] = Field(description="counted ratings per level, 5 非常满意 … 1 非常不满意")
    ratings: int
    marked: int = Field(description="ratings marked by an upheld appeal: shown, never counted")
    mean_score: float | None = Field(description="mean score under RATING_SCORES (0-10)")
    satisfaction: float | None = Field(description="mean score / 10")
    verified_bad: int
    first_response_s: float | None
    handling_s: float | None
    grabs: int
    taken: int = Field(description="conversations taken: grabs, pushes and transfers in")
    handled: int = Field(description="conversations finished")
    score: float | None = Field(description="the standing score over the month (a department: its agents' mean)")
    suspensions: int = Field(description="suspensions opened in the month")


class SheetAgentRow(SheetFigures):
    agent_id: int
    display_name: str
    department: str


class SheetDepartmentRow(SheetFigures):
    department: str
    agents: int


class SheetOut(BaseModel):
    month: str
    scores: dict[str, float]
    agents: list[SheetAgentRow]
    departments: list[SheetDepartmentRow]


class SuspensionAppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(max_length=suspensions.NOTE_MAX, description="why the suspension is mistaken")


class SuspensionDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["readmit", "uphold"]
    note: str | None = Field(None, max_length=suspensions.NOTE_MAX)


class AgentSuspendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(max_length=suspensions.NOTE_MAX, description="the reason, shown to the agent")


# -- reading ---------------------------------------------------------------------------------------

async def _rows(ratings: Ratings) -> list[dict]:
    """Every serving agent's standing over the rolling window, with their open suspension."""
    settings = ratings.settings
    since, until = standing.window(settings, ratings.clock.now())
    async with ratings.sessions() as session:
        agents = await standing.serving_agents(session)
        found = await standing.gather(session, since, until, [agent.id for agent in agents])
        open_ones = {s.agent_id: s for s in (await session.scalars(
            select(Suspension).where(Suspension.open_key.is_not(None)))).all()}
    rows: list[dict] = []
    for agent in agents:
        figures = found.get(agent.id) or standing.Figures(agent.id)
        score = standing.compute(figures, settings)
        suspension = open_ones.get(agent.id)
        rows.append({
            "agent_id": agent.id, "display_name": agent.display_name, "department": agent.department,
            "score": score.value, "parts": score.parts, "penalty": score.penalty, "ratings": figures.ratings,
            "levels": {str(level): n for level, n in figures.levels.items()}, "marked": figures.marked,
            "verified_bad": figures.verified_bad, "first_response_s": figures.first_response_s,
            "handling_s": figures.handling_s, "grabs": figures.grabs, "handled": figures.handled,
            "suspension": suspensions.as_dict(suspension, agent.display_name) if suspension else None,
        })
    ranked = standing.ranks({agent.id: row["score"] for agent, row in zip(agents, rows, strict=True)})
    for agent, row in zip(agents, rows, strict=True):
        row["rank"] = ranked[agent.id]
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["display_name"]))


@router.get("/standing", response_model=StandingOut,
            summary="Every agent's rolling score and suspensions (supervisors)",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS))
async def all_standing(me: Supervisor, ratings: RatingsDep) -> dict:
    rows = await _rows(ratings)
    async with ratings.sessions() as session:
        listed = await suspensions.listing(session)
    return {"formula": standing.formula(ratings.settings), "agents": rows, "suspensions": listed}


@router.get("/standing/me", response_model=MyStandingOut, summary="My score, its parts, my rank and suspension",
            responses=error_responses(SIGNED_IN_ERRORS))
async def my_standing(me: CurrentAgent, ratings: RatingsDep) -> dict:
    rows = await _rows(ratings)
    mine = next((row for row in rows if row["agent_id"] == me.id), None)
    if mine is None:  # a campaigner or an inactive account: figures of nothing, but an answer
        figures = standing.Figures(me.id)
        score = standing.compute(figures, ratings.settings)
        mine = {"agent_id": me.id, "display_name": me.display_name, "department": None, "score": None, "rank": None,
                "parts": score.parts, "penalty": 0.0, "ratings": 0, "levels": {}, "marked": 0, "verified_bad": 0,
                "first_response_s": None, "handling_s": None, "grabs": 0, "handled": 0, "suspension": None}
    async with ratings.sessions() as session:
        listed = await suspensions.listing(session, agent_id=me.id, limit=20)
    return {"formula": standing.formula(ratings.settings), "me": mine,
            "ranked": sum(1 for row in rows if row["rank"] is not None), "suspensions": listed}


@router.get("/leaderboard", response_model=LeaderboardOut,
            summary="The agents' leaderboard (比着创优): display names, scores and ranks only",
            responses=error_responses(SIGNED_IN_ERRORS, INVALID_REQUEST, MONTH_ERRORS))
async def leaderboard(me: CurrentAgent, ratings: RatingsDep,
                      month: Annotated[str | None, Query(description="YYYY-MM; default: the rolling window")] = None
                      ) -> dict:
    settings = ratings.settings
    if month:
        period = sheet.Month.parse(month)
        since, until, label = period.since, period.until, period.label
    else:
        since, until = standing.window(settings, ratings.clock.now())
        label = f"最近{settings.standing_window_days}天"
    async with ratings.sessions() as session:
        agents = await standing.serving_agents(session)
        found = await standing.gather(session, since, until, [agent.id for agent in agents])
    scores = {a.id: standing.compute(found.get(a.id) or standing.Figures(a.id), settings).value for a in agents}
    ranked = standing.ranks(scores)
    rows = [{"rank": ranked[a.id], "display_name": a.display_name, "score": scores[a.id],
             "ratings": (found.get(a.id) or standing.Figures(a.id)).ratings, "me": a.id == me.id} for a in agents]
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["display_name"]))
    return {"period": label, "agents": rows}


@router.get("/standing/sheet", summary="The monthly performance sheet per agent and department (supervisors)",
            response_model=SheetOut,
            responses={200: {"content": {"text/csv": {}, XLSX: {}}, "description": "JSON, or the file to save"},
                       **error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST, MONTH_ERRORS)})
async def performance_sheet(
    me: Supervisor, ratings: RatingsDep,
    month: Annotated[str, Query(description="YYYY-MM, in the centre's time")],
    format: Annotated[Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx (files are audited)")]
    = "json",
) -> Response | dict:
    period = sheet.Month.parse(month)
    async with ratings.sessions() as session:
        built = await sheet.build(session, ratings.settings, period)
        if format != "json":
            audit.record(session, me.actor, "standing_sheet_export", f"standing_sheet:{period.label}", format=format,
                         agents=len(built["agents"]))
            await session.commit()
    if format == "json":
        return built
    name = f"performance-{period.label}"
    if format == "xlsx":
        return Response(sheet.to_xlsx(built), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return Response(sheet.to_csv(built), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


# -- changes ---------------------------------------------------------------------------------------

@router.post("/standing/suspensions/{suspension_id}/appeal", response_model=SuspensionOut,
             summary="Appeal my suspension (once), with a note for the supervisor's review",
             responses=error_responses(*CHANGE, suspensions.APPEAL_ERRORS))
async def appeal(suspension_id: int, body: SuspensionAppealIn, me: CurrentAgent, ratings: RatingsDep) -> dict:
    found = await suspensions.appeal(ratings, me.actor, suspension_id, body.note)
    return suspensions.as_dict(found, me.display_name)


@router.post("/standing/suspensions/{suspension_id}/decide", response_model=SuspensionOut,
             summary="Review a suspension: re-admit the agent, or keep them off the line (supervisors)",
             responses=error_responses(*CHANGE, ROLE_ERRORS, suspensions.DECIDE_ERRORS))
async def decide(suspension_id: int, body: SuspensionDecisionIn, me: Supervisor, ratings: RatingsDep) -> dict:
    found = await suspensions.decide(ratings, me.actor, suspension_id, body.decision == "readmit", body.note)
    return suspensions.as_dict(found)


@router.post("/standing/agents/{agent_id}/suspend", response_model=SuspensionOut, status_code=201,
             summary="Suspend an agent's right to go on duty, pending review (supervisors)",
             responses=error_responses(*CHANGE, ROLE_ERRORS, {404: ("agent_not_found",),
                                                              409: ("already_suspended",), 422: ("note_invalid",)}))
async def suspend(agent_id: int, body: AgentSuspendIn, me: Supervisor, ratings: RatingsDep,
                  console: ConsoleOrNone) -> dict:
    note = suspensions.clean_note(body.note, required=True)
    async with ratings.sessions() as session:
        agent = await session.get(Agent, agent_id)
    if agent is None:
        raise ApiError(404, "agent_not_found", "坐席不存在。")
    made = await suspensions.suspend(ratings, console, agent_id, rule=suspensions.Rule.MANUAL, actor=me.actor,
                                     note=note)
    if made is None:
        raise ApiError(409, "already_suspended", "该坐席已在暂停中。")
    return suspensions.as_dict(made, agent.display_name)
