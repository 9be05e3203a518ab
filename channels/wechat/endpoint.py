"""`/wechat`: the server address configured on the Official Account (GET verification, POST
messages and events). WeChat never gets an error for a message it delivered correctly: unknown
types and internal faults are answered politely."""
from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from wechatpy import events
from wechatpy.messages import BaseMessage
from wechatpy.replies import ArticlesReply, TextReply

from channels.wechat.channel import WeChat, WeChatDep
from channels.wechat.inbound import to_inbound
from channels.wechat.notices import TemplateJobs, record_job_finished
from channels.wechat.render import NewsOut, Out, TextOut
from core.errors import error_responses
from core.services import services_of

log = logging.getLogger(__name__)
router = APIRouter(tags=["wechat"])

# WeChat takes "success" (or an empty body) as "no reply, and do not retry".
EMPTY = "success"
FAULT_REPLY = "抱歉，系统繁忙，请稍后再发一次。"
MAX_QUEUED_S = 5.0  # past this WeChat has given up anyway; more would only mean a clock gone wrong
# Refused before anything is read: the channel is off, or the request is not WeChat's (edge.py).
DISABLED = {404: ("wechat_disabled",)}
NOT_WECHATS = {403: ("bad_signature", "stale_request")}


class PassiveReply(Response):
    """The reply WeChat shows the citizen, as XML (encrypted inside when the message was)."""

    media_type = "application/xml"


@router.get("/wechat", response_class=PlainTextResponse, summary="WeChat server-address verification",
            responses=error_responses(DISABLED, NOT_WECHATS, {400: ("bad_echostr",)}, route_answers_json=False))
async def verify(request: Request, wechat: WeChatDep) -> PlainTextResponse:
    return PlainTextResponse(wechat.edge.verify_url(request))


@router.post(
    "/wechat", response_class=PassiveReply, summary="Messages and events pushed by WeChat",
    responses={
        200: {"description": f"a passive reply, or `{EMPTY}` (plain text) for none",
              "content": {"text/plain": {"schema": {"type": "string", "example": EMPTY}}}},
        **error_responses(DISABLED, NOT_WECHATS, {
            400: ("bad_xml", "bad_ciphertext", "encryption_not_configured"),
            403: ("encryption_required", "wrong_appid"), 413: ("too_large",),
        }, route_answers_json=False),
    },
)
async def receive(request: Request, wechat: WeChatDep) -> Response:
    envelope = await wechat.edge.open(request)
    message = envelope.message
    started = _wait_began(envelope.sent_at)
    try:
        outs = await _answer(wechat, message, started, services_of(request).find(TemplateJobs))
    except Exception:
        log.exception("wechat: failed to answer a %s message", message.type)
        outs = [TextOut(FAULT_REPLY)]
    if not outs:
        return PlainTextResponse(EMPTY)
    xml = _passive_xml(outs[0], message)
    return Response(wechat.edge.seal(xml, envelope.encrypted), media_type="application/xml")


async def _answer(wechat: WeChat, message: BaseMessage, started: float, jobs: TemplateJobs | None) -> list[Out]:
    if isinstance(message, events.TemplateSendJobFinishEvent):
        await record_job_finished(wechat.sessions, msgid=message.id, status=message.status or "")
        if jobs is not None:
            await jobs.finished(message.id, message.status or "")
        return []
    incoming = to_inbound(message, wechat.texts, wechat.menu)
    if incoming is None:
        return []
    return await wechat.turns.answer(incoming, started)


def _wait_began(sent_at: int) -> float:
    """WeChat's 5 seconds started when it sent the request, not when we got to it: time spent queued
    in front of a busy service counts against the budget. Its timestamp is in whole seconds, so only
    what is certainly past (beyond one second) is counted."""
    now = time.monotonic()
    queued = min(max(time.time() - sent_at - 1.0, 0.0), MAX_QUEUED_S)
    return now - queued


def _passive_xml(out: Out, message: BaseMessage) -> str:
    if isinstance(out, NewsOut):
        article = {
            "title": _cdata(out.title), "description": _cdata(out.description), "url": out.url, "image": out.image
        }
        return ArticlesReply(message=message, articles=[article]).render()
    return TextReply(message=message, content=_cdata(out.content)).render()


def _cdata(text: str) -> str:
    # wechatpy writes text into CDATA sections unescaped: "]]>" would end the section early.
    return text.replace("]]>", "]]]]><![CDATA[>")
