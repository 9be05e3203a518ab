"""Parameter placeholders: articles get the centre's numbers from the parameter files."""
import pytest

from policy.params import ParamError, format_value, load_params, render
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def params():
    return load_params(ROOT / "policy" / "params")


def test_filters_format_money_and_ratios():
    assert format_value(800000, "wan") == "80万元"
    assert format_value(18000, "wan") == "1.8万元"
    assert format_value(0.2, "pct") == "20%"
    assert format_value(0.125, "pct") == "12.5%"
    assert format_value(18000, "yuan") == "18000元"
    assert format_value(2.6, None) == "2.6"


def test_current_rate_alias_is_the_newest_entry(params):
    assert render("{{loan.rates.current.first_home.over_5y}}%", params) == "2.6%"
    assert render("{{ loan.rates.history.1.first_home.over_5y }}%", params) == "2.85%"


def test_caps_follow_the_parameter_file(tmp_path):
    (tmp_path / "loan.yml").write_text("caps: {single: 600000}\nrates: []\n", encoding="utf-8")
    assert render("最高{{loan.caps.single|wan}}", load_params(tmp_path)) == "最高60万元"


@pytest.mark.parametrize("text", ["{{loan.caps.nothing}}", "{{nofile.x}}", "{{loan.caps.single|bogus}}"])
def test_bad_placeholders_are_errors_naming_the_problem(params, text):
    with pytest.raises(ParamError):
        render(text, params)


def test_filter_on_text_value_is_an_error(params):
    with pytest.raises(ParamError):
        render("{{loan.currency|wan}}", params)
