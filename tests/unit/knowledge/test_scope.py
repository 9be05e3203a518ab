"""Scope rules: another city's fund, another agency, or no fund words at all."""
import pytest

from knowledge.scope import BOT_NLU_FILE, NEGATIVES_FILE, InputMissing, Scope, Verdict, load_negatives, negative_sources
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


def test_negative_examples_come_from_the_scope_file_and_the_bots_out_of_scope_intent(tmp_path, scope):
    examples = tmp_path / "negatives.yml"
    examples.write_text("examples:\n  天气: [明天下雨吗, '  ']\n  银行: [信用卡咋还]\n", encoding="utf-8")
    nlu = tmp_path / "nlu.yml"
    nlu.write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n'
        "- intent: out_of_scope\n  examples: |\n    - 讲个笑话\n    - 明天下雨吗\n",
        encoding="utf-8",
    )
    assert load_negatives((examples, nlu)) == ["明天下雨吗", "信用卡咋还", "讲个笑话"]
    assert len(load_negatives()) > 1000
    # The model is consulted only for questions that do not name the fund: its own examples never do.
    shipped = load_negatives((NEGATIVES_FILE,))
    assert len(shipped) > 900 and not [q for q in shipped if scope.names_fund(q)]


def test_a_missing_example_file_stops_the_build_unless_the_bots_examples_are_switched_off(tmp_path):
    with pytest.raises(InputMissing, match="KNOWLEDGE_SCOPE_BOT_EXAMPLES=false"):
        load_negatives((NEGATIVES_FILE, tmp_path / "bot" / "data" / "nlu.yml"))
    assert negative_sources() == (NEGATIVES_FILE, BOT_NLU_FILE)
    assert negative_sources(bot_examples=False) == (NEGATIVES_FILE,)
