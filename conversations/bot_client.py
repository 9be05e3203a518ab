"""Client of the Rasa server's REST webhook; the conversation id is Rasa's sender id."""
from __future__ import annotations

from typing import Any

import httpx

from conversations.replies import Reply, from_rasa


class BotUnavailable(RuntimeError):
    pass


class RasaClient:
    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._base = base_url.rstrip("/")
        self._http = httpx.AsyncClient(timeout=timeout_s, limits=httpx.Limits(max_connections=64))

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None) -> list[Reply]:
        body = {"sender": conversation_id, "message": text, "metadata": metadata or {}}
        try:
            response = await self._http.post(f"{self._base}/webhooks/rest/webhook", json=body)
            response.raise_for_status()
            messages = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(str(exc)) from exc
        if not isinstance(messages, list):
            raise BotUnavailable("unexpected webhook response")
        return [reply for reply in map(from_rasa, messages) if reply is not None]

    async def append_event(self, conversation_id: str, event: dict[str, Any]) -> None:
        """Add an event to the tracker (used to pause and resume the bot around a handoff)."""
        try:
            response = await self._http.post(
                f"{self._base}/conversations/{conversation_id}/tracker/events", json=event
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise BotUnavailable(str(exc)) from exc

    async def tracker(self, conversation_id: str, timeout_s: float = 2.0) -> dict[str, Any]:
        """The conversation's tracker (slots, latest intent, paused), as Rasa's HTTP API returns it."""
        try:
            response = await self._http.get(f"{self._base}/conversations/{conversation_id}/tracker", timeout=timeout_s)
            response.raise_for_status()
            tracker = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(str(exc)) from exc
        if not isinstance(tracker, dict):
            raise BotUnavailable("unexpected tracker response")
        return tracker

    async def status(self) -> bool:
        try:
            response = await self._http.get(f"{self._base}/status", timeout=2.0)
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    async def close(self) -> None:
        await self._http.aclose()
