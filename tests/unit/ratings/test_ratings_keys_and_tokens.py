"""The small rules under 好差评 by phone and at the counter: which keypad answers are a level, which spoken
answers end a call, and that a counter token names its window, staff member and printing and nothing else."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.voice.phone_line import _closing
from channels.voice.rating import agent_number, level_of
from core import signing
from core.settings import Settings
from ratings import counters
from ratings.models import CounterWindow


@pytest.mark.parametrize(("digits", "level"), [("5", 5), ("1", 1), ("3#", 3), (" 4 ", 4), ("0", None), ("6", None),
                                               ("9", None), ("*", None), ("#", None), ("55", None), ("", None)])
def test_only_one_key_from_one_to_five_is_a_level(digits, level):
    assert level_of(digits) == level


@given(st.text(max_size=6))
def test_any_keypad_answer_is_a_level_or_nothing(digits):
    level = level_of(digits)
    assert level is None or (1 <= level <= 5 and str(level) in digits)


@pytest.mark.parametrize("said", ["没有了，谢谢", "再见", "好的，再见。", "谢谢你", "没事了拜拜", "就这些", "不用了谢谢"])
def test_goodbyes_end_the_call(said):
    assert _closing(said)


@pytest.mark.parametrize("said", ["", "好的", "嗯", "公积金贷款没有了吗", "谢谢你告诉我利率是多少", "再见面的时候办理",
                                  "我没有公积金账户"])
def test_questions_and_acknowledgements_do_not(said):
    assert not _closing(said)


def test_agent_numbers_that_are_not_ids_rate_without_an_agent():
    assert agent_number("7") == 7 and agent_number(None) is None and agent_number("client:agent-7") is None


def _window(**extra: object) -> CounterWindow:
    values = {"id": 3, "code": "hanshan-3", "office": "hanshan", "window": "3", "department": "邯山区管理部",
              "agent_id": 12, "active": True, "token_version": 1} | extra
    return CounterWindow(**values)


def test_a_window_token_signs_the_window_its_staff_member_and_its_printing():
    settings = Settings(public_base_url="https://gjj.example.gov.cn/")
    token = counters.window_token(settings, _window())
    assert signing.unsign(settings.session_secret.get_secret_value(), counters.WINDOW_PURPOSE, token) == "3.12.1"
    assert counters.rating_url(settings, _window()) == f"https://gjj.example.gov.cn/rate/c/{token}"
    others = {counters.window_token(settings, _window(**change))
              for change in ({"agent_id": 13}, {"agent_id": None}, {"token_version": 2}, {"id": 4})}
    assert token not in others and len(others) == 4
    # Not a visit token, and not valid under another secret.
    assert signing.unsign(settings.session_secret.get_secret_value(), counters.VISIT_PURPOSE, token) is None
    assert signing.unsign("another-secret-of-32-characters!", counters.WINDOW_PURPOSE, token) is None


def test_the_printed_sheet_warns_when_the_code_has_no_public_address():
    from ratings import counter_page

    view = counters.WindowView(window=_window(), office_name="邯山区管理部", staff_name="<b>张伟</b>")
    sheet = counter_page.print_sheet(centre="公积金中心", view=view, url="/rate/c/3.12.1.abc")
    assert "PUBLIC_BASE_URL" in sheet and "&lt;b&gt;张伟&lt;/b&gt;" in sheet and "<b>" not in sheet
    reachable = counter_page.print_sheet(centre="公积金中心", view=view, url="https://gjj.example.gov.cn/rate/c/x")
    assert "PUBLIC_BASE_URL" not in reachable and "<svg" in reachable
