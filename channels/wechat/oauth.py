"""WeChat web authorisation (snsapi_base, silent): a citizen who opens the chat page from the
account's menu is recognised by openid and continues as the same citizen on the web page, so the
agents see one history.

`/wechat/oauth?next=/` sends WeChat's browser to WeChat's authorise address; WeChat comes back to
`/wechat/oauth/callback` with a code, exchanged here for the openid. The web visitor id of that
citizen goes to the page as the signed visitor token the chat page keeps (channels/web.py), then
the page opens. A state bound to a short-lived cookie stops another site from planting its code.
"""
from __future__ import annotations

import json
import re
import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from channels.web import TOKEN_PURPOSE
from channels.wechat.api import WeChatError
from channels.wechat.channel import WeChat, WeChatDep
from conversations.deps import HubDep
from conversations.hub import Hub
from conversations.models import Channel, Identity
from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.signing import sign, unsign

router = APIRouter(prefix="/wechat/oauth", tags=["wechat"])

STATE_COOKIE = "hpf_wechat_state"
STATE_PURPOSE = "wechat-oauth-state"
STATE_MAX_AGE_S = 600
# The chat page (channels/static/chat.js) keeps its signed visitor token under this key.
WEB_TOKEN_KEY = "hpf.visitor"
_SAFE_NEXT = re.compile(r"^/(?![/\\])[A-Za-z0-9/_\-.?=&%#]*$")

NextPath = Annotated[str, Query(max_length=200, description="page to open afterwards (a path on this site)")]


def _next(path: str) -> str:
    return path if _SAFE_NEXT.match(path) else "/"


@router.get(
    "", status_code=302, response_class=RedirectResponse, summary="Start WeChat web authorisation (snsapi_base)",
    responses=error_responses(
        INVALID_REQUEST, {404: ("wechat_disabled",), 503: ("public_url_missing",)}, route_answers_json=False
    ),
)
async def start(request: Request, wechat: WeChatDep, next: NextPath = "/") -> RedirectResponse:
    base = wechat.settings.public_base_url.rstrip("/")
    if not base:
        raise ApiError(503, "public_url_missing", "网页授权需要配置对外访问地址（PUBLIC_BASE_URL）。")
    nonce = secrets.token_hex(12)
    callback = f"{base}/wechat/oauth/callback?next={_next(next)}"
    response = RedirectResponse(wechat.api.authorize_url(callback, state=nonce), status_code=302)
    secret = wechat.settings.session_secret.get_secret_value()
    response.set_cookie(
        STATE_COOKIE, sign(secret, STATE_PURPOSE, nonce), max_age=STATE_MAX_AGE_S, httponly=True,
        samesite="lax", secure=base.startswith("https://"), path="/wechat/oauth",
    )
    return response


@router.get(
    "/callback", response_class=HTMLResponse, summary="WeChat's return from web authorisation",
    responses=error_responses(INVALID_REQUEST, {
        403: ("bad_oauth_state",), 404: ("wechat_disabled",), 502: ("wechat_oauth_failed",),
    }, route_answers_json=False),
)
async def callback(
    request: Request,
    wechat: WeChatDep,
    hub: HubDep,
    code: Annotated[str, Query(min_length=1, max_length=128)],
    state: Annotated[str, Query(max_length=64)] = "",
    next: NextPath = "/",
) -> HTMLResponse:
    secret = wechat.settings.session_secret.get_secret_value()
    expected = unsign(secret, STATE_PURPOSE, request.cookies.get(STATE_COOKIE, ""))
    if not expected or not secrets.compare_digest(expected, state):
        raise ApiError(403, "bad_oauth_state", "授权已过期或来源不明，请从公众号菜单重新进入。")
    try:
        openid = await wechat.api.openid_for_code(code)
    except WeChatError as exc:
        message = "微信授权失败，请从公众号菜单重新进入。"
        raise ApiError(502, "wechat_oauth_failed", message, errcode=exc.errcode) from None
    visitor = await web_visitor_for(wechat, hub, openid)
    token = sign(secret, TOKEN_PURPOSE, visitor)
    response = HTMLResponse(_handover_page(token, _next(next)), headers={"Cache-Control": "no-store"})
    response.delete_cookie(STATE_COOKIE, path="/wechat/oauth")
    return response


async def web_visitor_for(wechat: WeChat, hub: Hub, openid: str) -> str:
    """The web visitor id of the citizen behind `openid`, created (as the same citizen) if needed."""
    citizen_id = (await hub.open_conversation(channel=Channel.WECHAT, kind=Channel.WECHAT, value=openid)).citizen_id
    async with wechat.sessions() as session:
        visitor = await session.scalar(
            select(Identity.value)
            .where(Identity.citizen_id == citizen_id, Identity.kind == Channel.WEB)
            .order_by(Identity.id)
            .limit(1)
        )
        if visitor is None:
            visitor = uuid.uuid4().hex
            session.add(Identity(citizen_id=citizen_id, kind=Channel.WEB, value=visitor))
            await session.commit()
    return visitor


def _handover_page(token: str, next_path: str) -> str:
    # json.dumps makes both values safe JavaScript strings; "</" is split so no value can end the script.
    values = json.dumps({"key": WEB_TOKEN_KEY, "token": token, "next": next_path}).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>正在进入在线咨询…</title></head>
<body><p>正在进入在线咨询…</p>
<script>
const v = {values};
try {{ localStorage.setItem(v.key, v.token); }} catch (e) {{}}
location.replace(v.next);
</script></body></html>"""
