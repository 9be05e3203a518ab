"""Client of the service's HTTP APIs: knowledge answers, loan calculators, eligibility checks, agent availability,
handoff and the centre's profile.

Actions stay thin: every fact and every calculation comes from the service. A slow or absent
service must not hang the conversation, so each call gives up after 2.5 seconds.
"""
from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT = aiohttp.ClientTimeout(total=2.5)
# The profile is asked for before the first reply of a session: a silent service costs little there.
PROFILE_TIMEOUT = aiohttp.ClientTimeout(total=1.0)
MAX_QUESTION = 500  # the knowledge API's limit on `q`


class ServiceError(Exception):
    """The service could not give a usable answer."""


class Unavailable(ServiceError):
    """Unreachable, too slow, or an unexpected response."""


class Refused(ServiceError):
    """HTTP 409 or 429: the service will not do it now (e.g. too many requests) and says why in Chinese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


class Rejected(ServiceError):
    """HTTP 422: the service refused the input and says why in Chinese."""

    def __init__(self, code: str, message: str, body: dict[str, Any]) -> None:
        super().__init__(code)
        self.code, self.message, self.body = code, message, body


def _base_url() -> str:
    return os.environ.get("HPF_SERVICE_URL", DEFAULT_URL).rstrip("/")


# The service's own repository data folder, as for `make run`; DATA_DIR when the stack sets it.
_DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
_bot_key: str | None = None


def _key() -> str:
    """The action server's key (BOT_API_KEY, or in development the one the service made on first start in
    <DATA_DIR>/secrets/bot_key). Read when first needed: the service may make it after we start."""
    global _bot_key
    if _bot_key:
        return _bot_key
    key = os.environ.get("BOT_API_KEY", "")
    if not key:
        path = Path(os.environ.get("DATA_DIR") or _DEFAULT_DATA_DIR) / "secrets" / "bot_key"
        try:
            key = path.read_text(encoding="ascii").strip()
        except OSError:
            return ""  # not made yet: this call goes without it, the next one reads again
    _bot_key = key
    return key


async def _call(
    method: str, path: str, *, body: dict | None = None, timeout: aiohttp.ClientTimeout = TIMEOUT
) -> dict:
    url = _base_url() + path
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.request(method, url, json=body, headers={"X-Bot-Key": _key()}) as response:
                data = await response.json(content_type=None)
                status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("service call %s %s failed: %r", method, path, exc)
        raise Unavailable(path) from exc
    if not isinstance(data, dict):
        raise Unavailable(f"{path}: not a JSON object")
    if status == 422 and isinstance(data.get("message"), str):
        raise Rejected(str(data.get("code", "")), data["message"], data)
    if status in (409, 429) and isinstance(data.get("message"), str):
        raise Refused(str(data.get("code", "")), data["message"])
    if status >= 400:
        log.warning("service call %s %s answered HTTP %s (%s)", method, path, status, data.get("code"))
        raise Unavailable(f"{path}: HTTP {status}")
    return data


async def answer(question: str, intent: str, topic: str | None, confidence: float = 0.0) -> dict:
    """`{"status": "answer"|"clarify"|"none"|"decline", "text", "buttons", "links", "sources", "article_id"}`.
    The service combines the bot's intent and confidence with its own ranking and scope rules."""
    # In the body, not the query string: citizens' words (and the numbers in them) stay out of access logs.
    body = {"q": question[:MAX_QUESTION], "intent": intent, "topic": topic or None, "confidence": round(confidence, 4)}
    return await _call("POST", "/api/v1/knowledge/answer", body=body)


async def repayment(body: dict) -> dict:
    return await _call("POST", "/api/v1/loan/repayment", body=body)


async def max_amount(body: dict) -> dict:
    return await _call("POST", "/api/v1/loan/max-amount", body=body)


async def handoff(body: dict) -> dict:
    """`{"outcome": "queued"|"callback"|"already_waiting"|"already_with_agent", "position",
    "estimated_wait_s", "ticket_id", "message"}`: a person for the citizen, or a callback ticket."""
    return await _call("POST", "/api/v1/handoff", body=body)


async def profile() -> dict:
    """`{"hotline", "centre_name", "city"}`: the centre's constants, as the service is configured."""
    return await _call("GET", "/api/v1/service/profile", timeout=PROFILE_TIMEOUT)


async def agents() -> dict:
    """`{"agents_available": bool, "message": "..."}`: whether a person can take over now."""
    return await _call("GET", "/api/v1/service/agents")


async def checklist_match(text: str) -> list[dict]:
    """`[{"case", "title", "articles"}]`: the checks the citizen's words name; several when they tie."""
    data = await _call("POST", "/api/v1/checklists/match", body={"q": text[:MAX_QUESTION]})
    return list(data.get("cases") or [])


async def checklists() -> list[dict]:
    """Every check the centre offers: `[{"case", "title", "articles", …}]`."""
    data = await _call("GET", "/api/v1/checklists")
    return list(data.get("checklists") or [])


async def checklist_for_article(article_id: str) -> dict | None:
    """`{"case", "title", "articles"}` when the knowledge article has an eligibility check, else None."""
    data = await _call("GET", f"/api/v1/checklists/for-article/{quote(article_id, safe='')}")
    found = data.get("checklist")
    return found if isinstance(found, dict) else None


async def checklist_next(case: str, answers: dict) -> dict:
    """`{"done": false, "question": {...}}` or `{"done": true, "outcome", "reasons", "documents",
    "warnings", "text", "business_link"}`; an answer the check cannot take raises `Rejected`."""
    return await _call("POST", f"/api/v1/checklists/{quote(case, safe='')}/next", body={"answers": answers})
