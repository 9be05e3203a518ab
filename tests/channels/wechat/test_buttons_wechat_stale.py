"""Numbered choices on WeChat mean the choices on offer now: a number that is none of them gets the
current choices back instead of reaching the assistant, and a spent choice replayed is not given to it."""
from __future__ import annotations

from fakes import wechat as wx

HOME = {"text": "这次买的是首套房还是第二套房？",
        "buttons": [{"title": "首套房", "payload": "首套"}, {"title": "第二套房", "payload": "二套"}]}


def test_a_number_outside_the_current_choices_is_answered_with_them(service, wechat, rasa, openid):
    rasa.scripts["选房型"] = [HOME]
    shown = wechat.post(service.wechat_url, wx.text(openid, "选房型")).shown.content
    assert "1. 首套房" in shown and "2. 第二套房" in shown
    asked = len(rasa.received)
    again = wechat.post(service.wechat_url, wx.text(openid, "5")).shown.content
    assert "不在当前的选项里" in again and "1. 首套房" in again
    assert len(rasa.received) == asked  # the assistant never saw the stale number
    wechat.post(service.wechat_url, wx.text(openid, "2"))
    assert rasa.received[-1]["message"] == "二套"  # a number on offer still picks its button


def test_a_spent_choice_replayed_does_not_reach_the_assistant(service, wechat, rasa, openid):
    rasa.scripts["选房型"] = [HOME]
    wechat.post(service.wechat_url, wx.text(openid, "选房型"))
    wechat.post(service.wechat_url, wx.text(openid, "1"))  # 首套: the choices are spent
    asked = len(rasa.received)
    late = wechat.post(service.wechat_url, wx.text(openid, "二套")).shown.content
    assert "这个选项已过期" in late
    assert len(rasa.received) == asked
