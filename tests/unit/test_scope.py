"""Scope rules: another city's fund, another agency, or no fund words at all."""
import pytest

from knowledge.scope import Scope, Verdict
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def scope():
    return Scope.load({"租房提取", "贷款利率", "异地转移"}, ROOT / "bot" / "dictionary")


@pytest.mark.parametrize(
    ("text", "verdict", "detail"),
    [
        ("租房提取要啥材料", Verdict.IN_SCOPE, ""),
        ("公积经贷款利率多少", Verdict.IN_SCOPE, ""),
        ("从保定换到邯郸工作了 公积金咋转过来", Verdict.IN_SCOPE, ""),
        ("在北京交的公积金能在邯郸买房贷款吗", Verdict.IN_SCOPE, ""),
        ("北京公积金提取条件", Verdict.OTHER_CITY, "北京"),
        ("唐山公积金贷款是余额的多少倍", Verdict.OTHER_CITY, "唐山"),
        ("社保断缴了咋补", Verdict.OTHER_DOMAIN, "社会保险"),
        ("个税汇算清缴咋弄", Verdict.OTHER_DOMAIN, "税务"),
        ("社保和公积金断缴了影响贷款吗", Verdict.IN_SCOPE, ""),
        ("邯郸下礼拜下雨吗", Verdict.NO_DOMAIN_WORDS, ""),
        ("给我讲个故事", Verdict.NO_DOMAIN_WORDS, ""),
        ("去响堂山坐几路公交", Verdict.NO_DOMAIN_WORDS, ""),
    ],
)
def test_scope_verdicts(scope, text, verdict, detail):
    result = scope.check(text)
    assert (result.verdict, result.detail) == (verdict, detail)
