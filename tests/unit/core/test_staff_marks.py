"""Staff marks ("待中心确认") never reach citizens; the rest of the sentence does."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.staff_marks import for_citizens, has_marks
from policy.calculator import Applicant, max_loan
from policy.loan_params import load_params

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("额度、间隔为邯郸市住房公积金管理中心参数（待中心确认）", "额度、间隔为邯郸市住房公积金管理中心参数"),
        ("参考石家庄住房公积金管理中心公开口径（二手资料），邯郸中心参数待中心确认", "参考石家庄住房公积金管理中心公开口径"),
        ("中心贷款参数（比例、倍数、上限，待中心确认）；四项取低", "中心贷款参数；四项取低"),
        ("属地方政策，本市做法待中心确认。下一句。", "属地方政策。下一句。"),
        ("首付不低于20%（中心设定）。", "首付不低于20%（中心设定）。"),
    ],
)
def test_marks_are_removed_and_the_sentence_stays_whole(written, shown):
    assert for_citizens(written) == shown
    assert not has_marks(for_citizens(written))


def test_the_calculators_result_names_its_sources_without_marks():
    params = load_params(ROOT / "policy" / "params" / "loan.yml")
    assert has_marks(params.caps.source)  # the staff's file keeps its note
    result = max_loan(Applicant(monthly_wage=15_000, monthly_deposit_total=3_000, house_price=1_500_000,
                                account_balance=80_000), params, params.rates[0])
    first = result.text.splitlines()[0]
    assert first.startswith("按您提供的情况估算，首套房最高可贷") and "月供约" in first
    assert "· 余额倍数：约 120.00 万元（1,200,000 元），公积金账户余额的若干倍" in result.text
    assert "· 最高限额【起决定作用】" in result.text
    assert f"{params.rates[0].effective.isoformat()}起执行" in result.text and "信息日期" not in result.text
    assert not has_marks(result.text)
