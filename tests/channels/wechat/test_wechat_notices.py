"""Template notices: sent with a link, recorded with WeChat's verdict (msgid, or the errcode), and
updated when WeChat reports the delivery."""
from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from channels.wechat.channel import WeChat
from channels.wechat.models import WeChatDelivery
from channels.wechat.notices import NoWeChatIdentity, TemplateJobs, send_template_notice
from conversations.hub import Hub
from core.services import services_of
from fakes import wechat as wx

DATA = {"first": "您的公积金贷款本月还款日为25日。", "keyword1": "3,215.60元", "remark": {"value": "请按时还款", "color": "#173177"}}


def notice(service, **kwargs):
    return service.run(send_template_notice(services_of(service.app).get(WeChat), **({"template_id": "TPL_REPAYMENT", "data": DATA} | kwargs)))


def test_notice_is_sent_with_an_absolute_link_and_recorded(service, wechat, openid):
    wechat.post(service.wechat_url, wx.event(openid, "subscribe"))
    record = notice(service, openid=openid, url="/wechat/articles/loan-repayment-methods")
    sent = wechat.template_sent[-1]
    assert (record.status, record.errcode, record.wechat_msgid) == ("sent", 0, sent["msgid"])
    assert sent["touser"] == openid and sent["url"] == f"{service.url}/wechat/articles/loan-repayment-methods"
    assert sent["data"]["first"] == {"value": "您的公积金贷款本月还款日为25日。"}
    assert sent["data"]["remark"] == {"value": "请按时还款", "color": "#173177"}
    assert record.id is not None


def test_refusals_are_recorded_with_wechats_errcode(service, wechat, openid):
    wechat.post(service.wechat_url, wx.event(openid, "subscribe"))
    unknown = notice(service, openid=openid, template_id="TPL_GONE")
    assert (unknown.status, unknown.errcode) == ("failed", 40037)
    wechat.unfollow(openid)
    gone = notice(service, openid=openid)
    assert (gone.status, gone.errcode) == ("failed", 43004)


def test_a_citizen_is_reached_by_citizen_id(service, wechat, openid):
    wechat.post(service.wechat_url, wx.text(openid, "你好"))

    async def citizen():
        return (await services_of(service.app).get(Hub).open_conversation(channel="wechat", kind="wechat", value=openid)).citizen_id

    assert notice(service, citizen_id=service.run(citizen())).status == "sent"
    with pytest.raises(NoWeChatIdentity):
        notice(service, citizen_id="no-such-citizen")


@pytest.mark.parametrize(("status", "expected"), [("success", "delivered"), ("failed:user block", "failed")])
def test_wechats_delivery_report_updates_the_record(service, wechat, openid, status, expected):
    wechat.post(service.wechat_url, wx.event(openid, "subscribe"))
    record = notice(service, openid=openid)
    report = wx.event(openid, "TEMPLATESENDJOBFINISH", MsgID=record.wechat_msgid, Status=status)
    assert wechat.post(service.wechat_url, report, mode="safe").shown is None

    async def reread():
        async with services_of(service.app).get(async_sessionmaker)() as session:
            return await session.get(WeChatDelivery, record.id)

    updated = service.run(reread())
    assert updated.status == expected
    assert updated.errmsg == (None if expected == "delivered" else status)


def test_the_delivery_report_reaches_the_registered_listeners(service, wechat, openid):
    """The campaign engine hears of its template messages' fate through TemplateJobs (its delivered stage)."""
    heard: list[tuple[int, str]] = []

    async def listener(msgid: int, status: str) -> None:
        heard.append((msgid, status))

    async def failing(msgid: int, status: str) -> None:
        raise RuntimeError("a listener's fault is logged, never WeChat's problem")

    services = services_of(service.app)
    jobs = services.find(TemplateJobs)
    assert jobs is not None  # the campaign engine registered at start
    jobs.listeners.extend([failing, listener])
    try:
        wechat.post(service.wechat_url, wx.event(openid, "subscribe"))
        record = notice(service, openid=openid)
        report = wx.event(openid, "TEMPLATESENDJOBFINISH", MsgID=record.wechat_msgid, Status="success")
        assert wechat.post(service.wechat_url, report, mode="safe").shown is None
    finally:
        jobs.listeners.remove(failing)
        jobs.listeners.remove(listener)
    assert heard == [(record.wechat_msgid, "success")]
