"""Segments as rules: the shipped files load, each seed case matches exactly the people it should on
hand-made data with known answers, the figures are the calculator's, bad files say what is wrong."""
from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from outreach.identities import depositor_ref
from outreach.records import Assistant, AssistantKind, Depositor, DepositorStatus, Employer, LoanKind, Person
from outreach.segments import EventError, SegmentError, evaluate, load_segments, preview
from policy.calculator import Applicant, equal_principal, installment, max_loan, money
from policy.checklist_rules import load_checklists
from policy.loan_params import load_params
from policy.params import load_params as load_param_files
from tests.outreach.segment_people import ListSource, Report, loan, person

ROOT = Path(__file__).resolve().parents[3]
SEGMENTS = ROOT / "policy" / "segments"
PARAMS_DIR = ROOT / "policy" / "params"
CHECKLISTS = ROOT / "policy" / "checklists"
TODAY = date(2026, 12, 7)
SECRET = "test-secret"
PARAMS = load_params(PARAMS_DIR / "loan.yml")
RATES = PARAMS.rate_entry(TODAY)


@pytest.fixture(scope="module")
def segments() -> dict:
    return load_segments(SEGMENTS, PARAMS_DIR)


def run(segment, source, **kw) -> list:
    return list(evaluate(segment, source, params=PARAMS, rates=RATES, secret=SECRET, today=TODAY, **kw))


def refs(matches: list) -> set[str]:
    return {m.depositor_ref for m in matches}


def ref(account: str) -> str:
    return depositor_ref(SECRET, account)


def test_shipped_segments_load(segments):
    assert set(segments) >= {"repay-commercial-no-withdrawal", "repay-hpf-no-withdrawal", "could-borrow",
                             "employer-admins-policy", "assistants-policy", "rate-change", "policy-article"}
    for segment in segments.values():
        assert segment.messages, segment.key
        if segment.figures == "max_loan":
            assert all("估算" in text for text in segment.messages.values()), segment.key


BORROWERS = ListSource([
    person("00000001", loan("00000001", LoanKind.COMMERCIAL)),                          # commercial: yes
    person("00000002", loan("00000002", LoanKind.COMMERCIAL, repay_withdrawal=True)),   # already signed
    person("00000003", loan("00000003", LoanKind.COMMERCIAL, overdue=True)),            # overdue
    person("00000004", loan("00000004", LoanKind.HPF)),                                 # hpf: yes (1b)
    person("00000005", loan("00000005", LoanKind.COMBINATION)),                         # combination: yes
    person("00000006", loan("00000006", LoanKind.COMMERCIAL), status=DepositorStatus.SEALED),
    person("00000007"),                                                                 # no loan
    person("00000008", loan("00000008", LoanKind.HPF, repay_withdrawal=True),
           loan("00000008", LoanKind.COMMERCIAL, balance=123456.0)),                    # second loan matches
    person("00000009", loan("00000009", LoanKind.HPF, overdue=True)),
])


def test_commercial_borrowers_without_repayment_withdrawal(segments):
    matches = run(segments["repay-commercial-no-withdrawal"], BORROWERS)
    assert refs(matches) == {ref("00000001"), ref("00000005"), ref("00000008")}
    first = matches[0]
    assert first.answers == {"loan_type": "housing", "borrower": "self", "overdue": False}
    assert first.variables["name"] == "张先生/女士"
    assert first.variables["loan_kind_name"] == "商业贷款"
    assert first.variables["business_name"] == "偿还商业贷款提取申请"
    assert first.facts["姓名"] == "张*明"
    assert first.mobile == "+8613800000001" and first.app_user_id == "app-00000001"
    # The loan that matched gives the figures, not the person's first loan.
    assert matches[2].variables["loan_balance_wan"] == "12.34"
    assert matches[1].variables["loan_kind_name"] == "组合贷款"


def test_hpf_borrowers_without_repayment_withdrawal(segments):
    matches = run(segments["repay-hpf-no-withdrawal"], BORROWERS)
    assert refs(matches) == {ref("00000004")}
    assert matches[0].answers == {"borrower": "self", "overdue": False, "monthly_offset": False}


def applicant_for(d: Depositor, age: int) -> Applicant:
    return Applicant(monthly_wage=d.monthly_base, house_price=1_500_000, account_balance=d.balance,
                     monthly_deposit_total=d.monthly_deposit, age=age, deposit_months=d.continuous_months)


def test_could_borrow_gets_the_calculators_maximum(segments):
    source = ListSource([
        person("00000011"),                                                  # 36 months, no loan: yes
        person("00000012", continuous_months=PARAMS.min_deposit_months - 1),  # too few months
        person("00000013", loan("00000013", LoanKind.HPF)),                  # has a loan
        person("00000014", status=DepositorStatus.SEALED),
        person("00000015", continuous_months=PARAMS.min_deposit_months, balance=10000.0, monthly_base=5000.0,
               monthly_deposit=1000.0, birth_date=date(1975, 1, 10)),
    ])
    matches = run(segments["could-borrow"], source)
    assert refs(matches) == {ref("00000011"), ref("00000015")}
    for match, account in zip(matches, ("00000011", "00000015"), strict=True):
        d = next(p.depositor for p in source.persons if p.depositor.account_no == account)
        age = 36 if account == "00000011" else 51
        expected = max_loan(applicant_for(d, age), PARAMS, RATES)
        assert match.variables["max_loan_wan"] == f"{int(expected.amount // 1000) / 10:.1f}"
        assert match.variables["term_years"] == str(expected.term.years)
        months = expected.term.years * 12
        assert match.variables["monthly_payment"] == f"{money(installment(expected.amount, expected.annual_rate_percent, months)):,.2f}"
        assert match.answers == {"deposit_months": d.continuous_months, "age": age}
        assert "估算，以审批为准" in match.facts["最高可贷"]


def test_combination_estimate_when_the_maximum_is_below_what_is_needed(segments):
    segment = segments["could-borrow"]
    low = person("00000021", balance=10000.0, monthly_base=5000.0, monthly_deposit=1000.0)
    source = ListSource([low])
    expected = max_loan(applicant_for(low.depositor, 36), PARAMS, RATES)
    assert expected.amount < 1_000_000  # below the segment's set amount
    [match] = run(segment, source)
    months = expected.term.years * 12
    commercial = 1_000_000 - expected.amount
    hpf = installment(expected.amount, expected.annual_rate_percent, months)
    bank = installment(commercial, 3.05, months)
    note = match.variables["combination_note"]
    assert "如需100.0万元" in note
    assert f"商贷约{int(commercial // 100) / 100:.2f}万元" in note
    assert f"月供合计约{money(hpf + bank):,.2f}元" in note
    # Asked in a conversation for less than the maximum: no combination needed.
    [covered] = run(segment, source, asked={ref("00000021"): expected.amount - 1000})
    assert covered.variables["combination_note"] == "额度够用，可直接申请公积金贷款"
    # Asked for more than the set amount: the estimate is for what they asked.
    [more] = run(segment, source, asked={ref("00000021"): 1_200_000})
    assert "如需120.0万元" in more.variables["combination_note"]


def test_rate_change_tells_each_affected_borrower_the_new_payment(segments):
    segment = segments["rate-change"]
    source = ListSource([
        person("00000031", loan("00000031", LoanKind.HPF, annual_rate=2.85)),
        person("00000032", loan("00000032", LoanKind.HPF, annual_rate=3.325)),          # another rate
        person("00000033", loan("00000033", LoanKind.COMMERCIAL, annual_rate=2.85)),    # a bank's loan
        person("00000034", loan("00000034", LoanKind.COMBINATION, annual_rate=2.85, method="equal_principal")),
        person("00000035"),
    ])
    event = {"old_rate": 2.85, "new_rate": 2.6, "kind": "hpf"}
    matches = run(segment, source, event=event)
    assert refs(matches) == {ref("00000031"), ref("00000034")}
    annuity, principal = matches
    assert annuity.variables["new_payment"] == f"{money(installment(450000, 2.6, 240)):,.2f}"
    assert annuity.variables["old_payment"] == f"{money(installment(450000, 2.85, 240)):,.2f}"
    assert annuity.variables["payment_change"].startswith("减少")
    first = equal_principal(450000, 240, 2.6).first_payment
    assert principal.variables["new_payment"] == f"{money(first):,.2f}"
    with pytest.raises(EventError):
        run(segment, source)
    with pytest.raises(EventError):
        run(segment, source, event={"old_rate": "x", "new_rate": 2.6})


def test_policy_article_and_the_policy_audiences(segments):
    source = ListSource(
        [person("00000041"), person("00000042", status=DepositorStatus.CLOSED)],
        [Employer("E1", "邯郸某某有限公司", "李四", "+8613900000001", "normal"),
         Employer("E2", "停缴公司", "王五", "+8613900000002", "suspended"),
         Employer("E3", "无手机公司", "赵六", None, "normal")],
        [Assistant("A1", "欧阳明", "+8613700000001", "某某银行", AssistantKind.BANK),
         Assistant("A2", "孙七", None, "某某地产", AssistantKind.DEVELOPER)],
    )
    [article] = run(segments["policy-article"], source, event={"title": "装修提取新政策"})
    assert article.variables["article_title"] == "装修提取新政策"
    with pytest.raises(EventError):
        run(segments["policy-article"], source)
    [admin] = run(segments["employer-admins-policy"], source)
    assert (admin.name, admin.variables["employer_name"], admin.depositor_ref) == ("李四", "邯郸某某有限公司", None)
    [assistant] = run(segments["assistants-policy"], source)
    assert assistant.variables["name"] == "欧阳先生/女士"
    assert assistant.variables["organisation"] == "某某银行"


def test_evaluation_streams():
    def endless() -> Iterator[Person]:
        for n in itertools.count():
            yield person(f"{n:08d}", loan(f"{n:08d}", LoanKind.COMMERCIAL))

    segment = load_segments(SEGMENTS, PARAMS_DIR)["repay-commercial-no-withdrawal"]
    source = ListSource()
    source.people = endless  # type: ignore[method-assign]
    first = list(itertools.islice(evaluate(segment, source, params=PARAMS, rates=RATES, secret=SECRET), 3))
    assert len(first) == 3


def test_preview_masks_people(segments):
    source = ListSource(BORROWERS.persons, report=Report(count=4))
    shown = preview(segments["repay-commercial-no-withdrawal"], source, params=PARAMS, rates=RATES, secret=SECRET,
                    samples=2, today=TODAY)
    assert shown["count"] == 3 and shown["with_mobile"] == 3 and shown["bad_rows"] == 4
    assert len(shown["samples"]) == 2
    sample = shown["samples"][0]
    assert sample["name"] == "张*明" and sample["mobile"] == "138****0001"
    text = json.dumps(shown, ensure_ascii=False)
    for secret in ("00000001", "张三明", "13800000001", ref("00000001")):
        assert secret not in text


# -- bad files -----------------------------------------------------------------------------------------

GOOD = """
title: 测试
audience: depositors
when: has_loan == yes and loan_kind == commercial
business: withdraw-repay-commercial-loan
checklist: repay-commercial-loan
answers:
  overdue: {fact: overdue}
figures: loan
messages:
  sms: "{name}您好 {loan_balance_wan} {link}"
"""


def parse(text: str, name: str = "bad.yml"):
    from outreach.segment_rules import parse_segment

    params = load_param_files(PARAMS_DIR)
    return parse_segment(text, name, params, load_checklists(CHECKLISTS, PARAMS_DIR))


def test_a_good_file_parses():
    assert parse(GOOD).key == "bad"


@pytest.mark.parametrize(("change", "where"), [
    (("loan_kind == commercial", "loan_kind == bank"), "bad.yml: when: loan_kind 只能是"),
    (("has_loan == yes", "salary > 3000"), "bad.yml: when: salary 不是这类对象的数据项"),
    (("has_loan == yes", "status > 3"), "bad.yml: when: status 不是数字"),
    (("has_loan == yes", "has_loan == = yes"), "bad.yml: when: 条件"),
    (("business: withdraw-repay-commercial-loan", "business: no-such-form"), "bad.yml: business: no-such-form"),
    (("checklist: repay-commercial-loan", "checklist: no-such-list"), "bad.yml: checklist: no-such-list"),
    (("  sms:", "  fax:"), "bad.yml: messages.fax: 没有这个渠道"),
    (("{loan_balance_wan}", "{max_loan_wan}"), "bad.yml: messages.sms: 变量 {max_loan_wan}"),
    (("overdue: {fact: overdue}", "late: {fact: overdue}"), "bad.yml: answers.late: late 不是清单"),
    (("overdue: {fact: overdue}", "overdue: {fact: loan_kind}"), "bad.yml: answers.overdue.fact"),
    (("overdue: {fact: overdue}", "overdue: {value: maybe}"), "bad.yml: answers.overdue.value"),
    (("figures: loan", "figures: rate_change"), "bad.yml: event:"),
    (("figures: loan", "figures: max_loan"), "bad.yml: estimate:"),
    (("title: 测试", "titel: 测试"), "titel: Extra inputs"),
    (("{loan_balance_wan}", "{{loan.no_such}}"), "bad.yml: messages.sms: 参数 loan.no_such 不存在"),
])
def test_bad_files_name_file_and_key(change, where):
    with pytest.raises(SegmentError) as failure:
        parse(GOOD.replace(*change))
    assert where in str(failure.value)


def test_placeholders_render_from_the_parameters():
    segment = parse(GOOD.replace("has_loan == yes", "continuous_months >= {{loan.min_deposit_months}}"))
    assert "continuous_months >= 6" in segment.when_text


def test_bad_file_in_a_directory(tmp_path):
    (tmp_path / "ok.yml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "Bad Name.yml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(SegmentError, match="文件名"):
        load_segments(tmp_path, PARAMS_DIR)


def test_every_shipped_segment_over_the_synthetic_export_files(tmp_path, segments):
    """The real source (outreach.synthetic's files read back by outreach.centre_data) through every rule."""
    from core.settings import Settings
    from outreach import synthetic
    from outreach.centre_data import open_source

    assert synthetic.main(["--depositors", "400", "--out", str(tmp_path), "--seed", "3", "--months", "1",
                           "--as-of", TODAY.isoformat()]) == 0
    source = open_source(Settings(centre_data_dir=tmp_path, centre_data_url=""))
    events = {"rate_change": {"old_rate": RATES.first_home.over_5y, "new_rate": 2.35}, "policy_article": {"title": "新政策"}}
    found = {key: run(segment, source, event=events.get(segment.event or "")) for key, segment in segments.items()}
    assert source.report.count == 0
    for key in ("repay-commercial-no-withdrawal", "could-borrow", "employer-admins-policy", "assistants-policy"):
        assert found[key], key
    people = {ref(p.depositor.account_no): p for p in source.people()}
    for match in found["could-borrow"][:20]:
        d = people[match.depositor_ref].depositor
        expected = max_loan(applicant_for(d, int(match.answers["age"])), PARAMS, RATES)
        assert match.variables["max_loan_wan"] == f"{int(expected.amount // 1000) / 10:.1f}"
    for match in found["repay-commercial-no-withdrawal"]:
        loans = people[match.depositor_ref].loans
        assert any(lo.kind in (LoanKind.COMMERCIAL, LoanKind.COMBINATION) and not lo.repay_withdrawal
                   and not lo.overdue for lo in loans)
