"""A question on how to complain is answered with the procedure (a person offered); a complaint itself, or
an upset citizen, goes to a person at once (bot/actions/complaints.py, used by action_handoff)."""
from __future__ import annotations

import pytest

from bot.actions.complaints import asks_how_to_complain


@pytest.mark.parametrize(
    ("text", "how"),
    [("怎么投诉你们的工作人员", True), ("单位欠缴公积金去哪里举报", True), ("提意见在哪提", True),
     ("投诉电话是多少", True), ("我要投诉", False), ("投诉", False), ("气死了，怎么投诉你们", False),
     ("你们这什么态度，我要投诉", False), ("怎么这么慢啊", False), ("到底咋投诉！！", False)],
)
def test_how_to_complain_is_told_from_a_complaint(text, how):
    assert asks_how_to_complain(text) is how
