"""Each withdrawal case and the loan application: an eligible and a not-eligible path, documents that
follow the answers, and the warnings. Boundaries come from the parameter files, so the tests follow
the centre's numbers instead of copying them."""
import pytest

from policy.eligibility import Result, next_step
from policy.params import load_params
from tests.policy.helpers import PARAMS_DIR, shipped, walk

WITHDRAWAL_CASES = {
    "purchase-new", "purchase-resale", "build-home", "renovation", "retirement", "incapacity", "abroad",
    "repay-hpf-loan", "repay-commercial-loan", "rent", "death", "property-fee", "resignation",
    "serious-illness", "hukou-moved",
}

P = load_params(PARAMS_DIR)
RENT = P["withdrawal"]["rent"]
PURCHASE_MONTHS = P["withdrawal"]["purchase"]["apply_within_months"]
BUILD_MONTHS = P["withdrawal"]["build"]["apply_within_months"]
SEALED_MONTHS = P["withdrawal"]["resignation"]["sealed_months"]
LOAN = P["loan"]


@pytest.fixture(scope="module")
def cases():
    return shipped().cases


def test_every_withdrawal_case_and_the_loan_have_a_checklist(cases):
    assert set(cases) == WITHDRAWAL_CASES | {"loan"}


def has(items: list[str], *words: str) -> bool:
    return any(all(word in item for word in words) for item in items)


# 租房提取

RENT_OK = {
    "own_home": False, "deposit_months": RENT["min_deposit_months"], "recent_withdrawal": False, "mode": "quota",
    "rent_share": True, "spouse_too": False, "own_card": True,
}


def test_rent_by_quota_is_eligible_without_a_lease(cases):
    result, asked = walk(cases["rent"], RENT_OK)
    assert result.outcome == "eligible" and result.reasons == []
    assert "landlord_family" not in asked and "lease_registered" not in asked
    assert not has(result.documents, "租赁合同") and not has(result.documents, "配偶")
    assert has(result.documents, "本人身份证")
    assert result.business_link and result.business_link["url"].endswith("/withdraw/rent")
    assert "看起来符合租房提取的条件" in result.text and "1. 本人身份证原件" in result.text


def test_rent_with_home_stops_after_the_first_question(cases):
    result, asked = walk(cases["rent"], {"own_home": True})
    assert asked == ["own_home"]
    assert result.outcome == "not_eligible" and "有住房" in result.reasons[0]
    assert result.documents == [] and result.business_link is None


def test_rent_deposit_gap_is_not_eligible(cases):
    result, asked = walk(cases["rent"], {"own_home": False, "deposit_months": RENT["min_deposit_months"] - 1})
    assert result.outcome == "not_eligible"
    assert f"满{RENT['min_deposit_months']}个月" in result.reasons[0]
    assert asked == ["own_home", "deposit_months"]


def test_rent_registered_lease_and_spouse_add_documents(cases):
    script = {**RENT_OK, "mode": "actual", "landlord_family": False, "lease_registered": True, "spouse_too": True}
    result, asked = walk(cases["rent"], script)
    assert result.outcome == "eligible"
    assert has(result.documents, "登记备案的房屋租赁合同")
    assert has(result.documents, "配偶的身份证", "结婚证")
    assert has(result.warnings, "结婚证")


def test_rent_unregistered_lease_is_warned_and_gets_no_lease_document(cases):
    script = {**RENT_OK, "mode": "actual", "landlord_family": False, "lease_registered": False}
    result, _ = walk(cases["rent"], script)
    assert has(result.warnings, "没有登记备案", "按额度提取")
    assert not has(result.documents, "租赁合同")


def test_rent_from_parents_and_within_the_interval_are_refused(cases):
    family, _ = walk(cases["rent"], {**RENT_OK, "mode": "actual", "landlord_family": True})
    assert family.outcome == "not_eligible" and "父母" in family.reasons[0]
    recent, _ = walk(cases["rent"], {**RENT_OK, "recent_withdrawal": True})
    assert recent.outcome == "not_eligible" and f"{RENT['interval_months']}个月" in recent.reasons[0]


def test_rent_below_the_income_share_needs_review_and_names_the_2026_revision(cases):
    result, _ = walk(cases["rent"], {**RENT_OK, "rent_share": False})
    assert result.outcome == "review"
    assert "2026" in result.reasons[0] and "待核实" in result.reasons[0]


def test_rent_public_housing_and_a_foreign_card(cases):
    result, _ = walk(cases["rent"], {**RENT_OK, "mode": "public", "own_card": False})
    assert has(result.documents, "公租房租赁合同")
    assert has(result.warnings, "本人名下的一类借记卡")


# 购买新建商品房、二手房

NEW_OK = {"contract_filed": True, "buyer": "self", "months_since": 2, "loan": False, "receipt": True,
          "spouse_too": False, "own_card": True}


def test_purchase_new_eligible_and_documents_follow_loan_and_spouse(cases):
    plain, _ = walk(cases["purchase-new"], NEW_OK)
    assert plain.outcome == "eligible" and not has(plain.documents, "借款合同")
    loaned, _ = walk(cases["purchase-new"], {**NEW_OK, "loan": True, "spouse_too": True})
    assert has(loaned.documents, "借款合同") and has(loaned.documents, "配偶的身份证")
    assert has(loaned.warnings, "偿还贷款提取")


def test_purchase_new_refusals(cases):
    unfiled, asked = walk(cases["purchase-new"], {"contract_filed": False})
    assert unfiled.outcome == "not_eligible" and "网签备案" in unfiled.reasons[0] and asked == ["contract_filed"]
    parents, _ = walk(cases["purchase-new"], {"contract_filed": True, "buyer": "other"})
    assert parents.outcome == "not_eligible" and "父母" in parents.reasons[0]
    late, _ = walk(cases["purchase-new"], {**NEW_OK, "months_since": PURCHASE_MONTHS + 1})
    assert late.outcome == "not_eligible" and f"{PURCHASE_MONTHS}个月" in late.reasons[0]
    on_time, _ = walk(cases["purchase-new"], {**NEW_OK, "months_since": PURCHASE_MONTHS})
    assert on_time.outcome == "eligible"


def test_purchase_new_spouse_as_buyer_brings_the_marriage_certificate(cases):
    script = {k: v for k, v in NEW_OK.items() if k != "spouse_too"} | {"buyer": "spouse"}
    result, asked = walk(cases["purchase-new"], script)
    assert "spouse_too" not in asked
    assert has(result.documents, "结婚证", "证明夫妻关系")


def test_purchase_new_without_receipt_needs_review(cases):
    result, _ = walk(cases["purchase-new"], {**NEW_OK, "receipt": False})
    assert result.outcome == "review" and "收据" in result.reasons[0]


RESALE_OK = {"transferred": True, "buyer": "self", "months_since": 1, "payment": "transfer", "family_sale": False,
             "loan": False, "spouse_too": False, "own_card": True}


def test_purchase_resale_paths(cases):
    ok, _ = walk(cases["purchase-resale"], RESALE_OK)
    assert ok.outcome == "eligible" and has(ok.documents, "转账记录") and not has(ok.documents, "收据")
    cash, _ = walk(cases["purchase-resale"], {**RESALE_OK, "payment": "cash_receipt"})
    assert cash.outcome == "eligible" and has(cash.documents, "收据") and not has(cash.documents, "转账记录")
    no_receipt, _ = walk(cases["purchase-resale"], {**RESALE_OK, "payment": "cash_only", "family_sale": True})
    assert no_receipt.outcome == "review" and len(no_receipt.reasons) == 2
    untransferred, asked = walk(cases["purchase-resale"], {"transferred": False})
    assert untransferred.outcome == "not_eligible" and "过户" in untransferred.reasons[0] and asked == ["transferred"]


# 自建、翻建、大修；装修

BUILD_OK = {"kind": "build", "approval": True, "owner": "self", "months_since": 3, "cost_proof": True,
            "spouse_too": False, "own_card": True}


def test_build_home_paths(cases):
    built, asked = walk(cases["build-home"], BUILD_OK)
    assert built.outcome == "eligible" and "appraisal" not in asked
    assert has(built.documents, "建房审批文件") and not has(built.documents, "鉴定材料")
    repair, asked = walk(cases["build-home"], {**BUILD_OK, "kind": "repair", "appraisal": True})
    assert repair.outcome == "eligible" and "approval" not in asked and has(repair.documents, "鉴定材料")
    decor, asked = walk(cases["build-home"], {"kind": "decor"})
    assert decor.outcome == "not_eligible" and asked == ["kind"] and "装修" in decor.reasons[0]
    no_approval, _ = walk(cases["build-home"], {"kind": "build", "approval": False})
    assert no_approval.outcome == "not_eligible"
    late, _ = walk(cases["build-home"], {**BUILD_OK, "months_since": BUILD_MONTHS + 1})
    assert late.outcome == "not_eligible"
    white_slip, _ = walk(cases["build-home"], {**BUILD_OK, "cost_proof": False})
    assert white_slip.outcome == "review" and "白条" in white_slip.reasons[0]


def test_renovation_is_never_confirmed_while_the_revision_is_unverified(cases):
    decor, _ = walk(cases["renovation"], {"kind": "decor", "own_home": True, "contract": False, "agent": True})
    assert decor.outcome == "review"
    assert "2026年9月20日" in decor.reasons[0] and "待核实" in decor.reasons[0]
    assert has(decor.warnings, "装修合同") and has(decor.warnings, "中介")
    assert decor.business_link is None
    not_own, asked = walk(cases["renovation"], {"kind": "decor", "own_home": False})
    assert not_own.outcome == "not_eligible" and asked == ["kind", "own_home"]
    repair, _ = walk(cases["renovation"], {"kind": "repair", "own_home": True, "contract": True, "agent": False})
    assert repair.outcome == "review" and "大修" in repair.reasons[0] and has(repair.documents, "鉴定材料")


# 退休、丧失劳动能力、出境定居

RETIRED_OK = {"retired": True, "still_depositing": False, "loan_or_guarantee": False, "proof": "certificate",
              "applicant": "self", "id_valid": True, "own_card": True}


def test_retirement_paths(cases):
    ok, _ = walk(cases["retirement"], RETIRED_OK)
    assert ok.outcome == "eligible" and has(ok.documents, "退休证") and not has(ok.documents, "委托书")
    proxy, _ = walk(cases["retirement"], {**RETIRED_OK, "applicant": "proxy", "proof": "none", "id_valid": False})
    assert has(proxy.documents, "委托书") and not has(proxy.documents, "退休证")
    assert has(proxy.warnings, "身份证核验年龄") and has(proxy.warnings, "信息变更")
    working, asked = walk(cases["retirement"], {"retired": True, "still_depositing": True})
    assert working.outcome == "not_eligible" and "停缴" in working.reasons[0] and asked == ["retired", "still_depositing"]
    young, _ = walk(cases["retirement"], {"retired": False})
    assert young.outcome == "not_eligible"
    guarantor, _ = walk(cases["retirement"], {**RETIRED_OK, "loan_or_guarantee": True})
    assert guarantor.outcome == "review"


def test_incapacity_paths(cases):
    ok, _ = walk(cases["incapacity"], {"appraisal": "complete", "employment_ended": True, "applicant": "guardian",
                                       "own_card": True})
    assert ok.outcome == "eligible" and has(ok.documents, "监护关系证明") and has(ok.documents, "鉴定结论")
    partial, asked = walk(cases["incapacity"], {"appraisal": "partial"})
    assert partial.outcome == "not_eligible" and asked == ["appraisal"]
    doctor_only, _ = walk(cases["incapacity"], {"appraisal": "none"})
    assert "鉴定机构" in doctor_only.reasons[0]
    employed, _ = walk(cases["incapacity"], {"appraisal": "complete", "employment_ended": False})
    assert employed.outcome == "not_eligible" and "劳动关系" in employed.reasons[0]


def test_abroad_paths(cases):
    script = {"purpose": "settle", "hukou_cancelled": True, "destination": "foreign", "foreign_language": True,
              "applicant": "proxy", "domestic_card": False}
    ok, _ = walk(cases["abroad"], script)
    assert ok.outcome == "eligible" and has(ok.documents, "中文翻译") and has(ok.documents, "委托书")
    assert has(ok.warnings, "境内一类借记卡")
    hmt, asked = walk(cases["abroad"], {**script, "destination": "hmt"})
    assert hmt.outcome == "review" and "foreign_language" not in asked
    study, asked = walk(cases["abroad"], {"purpose": "temporary"})
    assert study.outcome == "not_eligible" and asked == ["purpose"]
    visa_only, _ = walk(cases["abroad"], {"purpose": "settle", "hukou_cancelled": False})
    assert visa_only.outcome == "not_eligible" and "户口注销" in visa_only.reasons[0]


# 偿还公积金贷款、商业贷款

def test_repay_hpf_loan_paths(cases):
    script = {"borrower": "spouse", "overdue": False, "recent_withdrawal": False, "monthly_offset": False,
              "use": "prepay"}
    prepay, asked = walk(cases["repay-hpf-loan"], script)
    assert prepay.outcome == "eligible" and "own_card" not in asked and "spouse_too" not in asked
    assert not has(prepay.documents, "银行借记卡") and has(prepay.documents, "证明夫妻关系")
    cash, _ = walk(cases["repay-hpf-loan"], {**script, "borrower": "self", "use": "reimburse", "spouse_too": False,
                                             "own_card": True})
    assert has(cash.documents, "银行借记卡")
    overdue, _ = walk(cases["repay-hpf-loan"], {"borrower": "self", "overdue": True})
    assert overdue.outcome == "not_eligible" and "逾期" in overdue.reasons[0]
    offset, _ = walk(cases["repay-hpf-loan"], {**script, "monthly_offset": True})
    assert offset.outcome == "not_eligible" and "冲还贷" in offset.reasons[0]


COMMERCIAL_OK = {"loan_type": "housing", "borrower": "self", "overdue": False, "recent_withdrawal": False,
                 "statement": True, "spouse_too": True, "own_card": True}


def test_repay_commercial_loan_paths(cases):
    ok, _ = walk(cases["repay-commercial-loan"], COMMERCIAL_OK)
    assert ok.outcome == "eligible"
    assert has(ok.documents, "还款明细", "银行业务章") and has(ok.documents, "配偶的身份证")
    business_loan, asked = walk(cases["repay-commercial-loan"], {"loan_type": "other"})
    assert business_loan.outcome == "not_eligible" and "经营贷" in business_loan.reasons[0] and asked == ["loan_type"]
    screenshot, _ = walk(cases["repay-commercial-loan"], {**COMMERCIAL_OK, "statement": False})
    assert screenshot.outcome == "review" and has(screenshot.warnings, "截图")


# 继承、物业费、离职

def test_death_paths(cases):
    ok, _ = walk(cases["death"], {"death_proof": "court", "role": "heir", "settled": "notary", "on_behalf": True})
    assert ok.outcome == "eligible"
    assert has(ok.documents, "宣告死亡的判决书") and has(ok.documents, "继承权公证书") and has(ok.documents, "委托书")
    assert not has(ok.documents, "死亡证明或户口注销证明")
    assert has(ok.warnings, "每一位其他继承人的签字")
    dispute, _ = walk(cases["death"], {"death_proof": "certificate", "role": "heir", "settled": "dispute"})
    assert dispute.outcome == "not_eligible" and "争议" in dispute.reasons[0]
    friend, asked = walk(cases["death"], {"death_proof": "certificate", "role": "other"})
    assert friend.outcome == "not_eligible" and asked == ["death_proof", "role"]


def test_property_fee_is_review_at_best(cases):
    fee, _ = walk(cases["property-fee"], {"fee_type": "property", "own_home": True, "invoice": False})
    assert fee.outcome == "review" and "待核实" in fee.reasons[0] and has(fee.warnings, "发票")
    parking, asked = walk(cases["property-fee"], {"fee_type": "other"})
    assert parking.outcome == "not_eligible" and asked == ["fee_type"]


def test_resignation_paths(cases):
    ok, _ = walk(cases["resignation"], {"sealed": True, "sealed_months": SEALED_MONTHS, "redeposit": False,
                                        "other_case": True})
    assert ok.outcome == "review" and "中心政策" in ok.reasons[0]
    assert has(ok.warnings, "对应的情形")
    early, _ = walk(cases["resignation"], {"sealed": True, "sealed_months": SEALED_MONTHS - 1})
    assert early.outcome == "not_eligible" and f"{SEALED_MONTHS}个月" in early.reasons[0]
    unsealed, asked = walk(cases["resignation"], {"sealed": False})
    assert unsealed.outcome == "not_eligible" and asked == ["sealed"]


# 重大疾病、户籍迁出销户：地方政策，本市是否开办待中心确认，结论至多是“需中心审核确认”

ILLNESS_OK = {"patient": "parent_child", "diagnosis": True, "settlement": True, "patient_account": False,
              "own_card": True}


def test_serious_illness_for_a_parent_is_review_with_the_relation_proof(cases):
    result, asked = walk(cases["serious-illness"], ILLNESS_OK)
    assert result.outcome == "review" and len(result.reasons) == 1
    assert "地方政策" in result.reasons[0] and "待中心确认" in result.reasons[0]
    assert asked == ["patient", "diagnosis", "settlement", "patient_account", "own_card"]
    assert has(result.documents, "诊断证明") and has(result.documents, "医保结算单") and has(result.documents, "关系证明")
    assert has(result.warnings, "自付医疗费") and not has(result.warnings, "丧失劳动能力")
    assert result.business_link is None and "还需要中心审核确认" in result.text


def test_serious_illness_of_ones_own_warns_of_incapacity_and_a_missing_settlement(cases):
    script = {"patient": "self", "incapacity": True, "diagnosis": True, "settlement": False, "own_card": False}
    result, asked = walk(cases["serious-illness"], script)
    assert result.outcome == "review" and "patient_account" not in asked
    assert not has(result.documents, "关系证明")
    assert has(result.warnings, "丧失劳动能力提取") and has(result.warnings, "医保结算单", "退回")
    assert has(result.warnings, "一类借记卡")
    family, _ = walk(cases["serious-illness"], {**ILLNESS_OK, "patient": "spouse", "patient_account": True})
    assert has(family.warnings, "家人本人的账户")


def test_serious_illness_refusals(cases):
    sibling, asked = walk(cases["serious-illness"], {"patient": "other"})
    assert sibling.outcome == "not_eligible" and asked == ["patient"] and "配偶、父母或子女" in sibling.reasons[0]
    assert sibling.documents == [] and sibling.business_link is None
    undiagnosed, asked = walk(cases["serious-illness"], {"patient": "spouse", "diagnosis": False})
    assert undiagnosed.outcome == "not_eligible" and asked == ["patient", "diagnosis"]
    assert "诊断证明" in undiagnosed.reasons[0]


def test_serious_illness_missing_answers_are_asked_not_guessed(cases):
    checklist = cases["serious-illness"]
    assert next_step(checklist, {}).id == "patient"
    assert next_step(checklist, {"patient": "self"}).id == "incapacity"
    assert next_step(checklist, {"patient": "spouse"}).id == "diagnosis"
    # Everything but the bank card: no outcome yet, the card question comes.
    assert next_step(checklist, {k: v for k, v in ILLNESS_OK.items() if k != "own_card"}).id == "own_card"
    assert isinstance(next_step(checklist, ILLNESS_OK), Result)


HUKOU_OK = {"hukou": "moved_out", "work": "sealed", "redeposit": False, "hpf_loan": False, "own_card": True}


def test_hukou_moved_out_is_review_with_the_moving_out_proof(cases):
    result, asked = walk(cases["hukou-moved"], HUKOU_OK)
    assert result.outcome == "review" and len(result.reasons) == 1
    assert "中心政策" in result.reasons[0] and "待中心确认" in result.reasons[0]
    assert asked == ["hukou", "work", "redeposit", "hpf_loan", "own_card"]
    assert has(result.documents, "户口迁出证明") and not has(result.documents, "证明是外地户籍")
    assert has(result.documents, "劳动关系") and has(result.documents, "一类银行借记卡")
    assert has(result.warnings, "重新开户") and has(result.warnings, "异地转移接续")
    assert result.business_link is None


def test_hukou_nonlocal_worker_with_a_loan_needs_the_loan_settled(cases):
    result, _ = walk(cases["hukou-moved"], {**HUKOU_OK, "hukou": "nonlocal", "hpf_loan": True, "own_card": False})
    assert result.outcome == "review" and len(result.reasons) == 2 and "还清" in result.reasons[0]
    assert has(result.documents, "外地户籍") and not has(result.documents, "户口迁出证明")
    assert has(result.warnings, "一类借记卡")


def test_hukou_refusals_point_to_the_right_business(cases):
    local, asked = walk(cases["hukou-moved"], {"hukou": "local"})
    assert local.outcome == "not_eligible" and asked == ["hukou"] and "离职后提取" in local.reasons[0]
    assert local.documents == []
    here, _ = walk(cases["hukou-moved"], {"hukou": "nonlocal", "work": "working_here"})
    assert here.outcome == "not_eligible" and "本市内换单位转移" in here.reasons[0]
    unsealed, _ = walk(cases["hukou-moved"], {"hukou": "moved_out", "work": "not_sealed"})
    assert unsealed.outcome == "not_eligible" and "封存" in unsealed.reasons[0]
    elsewhere, asked = walk(cases["hukou-moved"], {"hukou": "moved_out", "work": "sealed", "redeposit": True})
    assert elsewhere.outcome == "not_eligible" and "异地转移接续" in elsewhere.reasons[0]
    assert asked == ["hukou", "work", "redeposit"]


def test_hukou_missing_answers_are_asked_not_guessed(cases):
    checklist = cases["hukou-moved"]
    assert next_step(checklist, {}).id == "hukou"
    assert next_step(checklist, {"hukou": "moved_out"}).id == "work"
    assert next_step(checklist, {"hukou": "moved_out", "work": "sealed"}).id == "redeposit"
    partial = {k: v for k, v in HUKOU_OK.items() if k != "hpf_loan"}
    assert next_step(checklist, partial).id == "hpf_loan"


# 公积金贷款

MALE_LIMIT = LOAN["retirement_age"]["male"] + LOAN["years_after_retirement"]
FEMALE_LIMIT = LOAN["retirement_age"]["female"] + LOAN["years_after_retirement"]
LOAN_OK = {"purpose": "buy_new", "home_number": "first", "deposit_months": LOAN["min_deposit_months"], "age": 30,
           "gender": "male", "years": 25, "credit": False, "marital": "married", "co_borrower": True,
           "down_payment": "paid_proof", "other_loans": False}


def test_loan_married_buyer_of_a_new_home(cases):
    result, asked = walk(cases["loan"], LOAN_OK)
    assert result.outcome == "eligible"
    assert has(result.documents, "结婚证", "配偶身份证") and has(result.documents, "配偶的收入证明")
    assert has(result.documents, "商品房买卖合同") and not has(result.documents, "存量房")
    assert has(result.warnings, "配偶的身份证和结婚证")
    assert result.business_link["url"].endswith("/loan/apply")


def test_loan_documents_follow_marital_status_and_purpose(cases):
    single, asked = walk(cases["loan"], {**LOAN_OK, "marital": "single", "purpose": "build"})
    assert "co_borrower" not in asked and "down_payment" not in asked
    assert has(single.documents, "单身声明") and has(single.documents, "建房审批文件")
    assert not has(single.documents, "结婚证")
    divorced, _ = walk(cases["loan"], {**LOAN_OK, "marital": "divorced", "purpose": "buy_resale",
                                       "down_payment": "paid_cash", "other_loans": True})
    assert has(divorced.documents, "离婚协议") and has(divorced.documents, "存量房买卖合同")
    assert has(divorced.warnings, "离婚协议") and has(divorced.warnings, "现金") and has(divorced.warnings, "月供")
    assert has(divorced.documents, "现有贷款")


def test_loan_refusals_use_the_loan_parameters(cases):
    gap, asked = walk(cases["loan"], {**LOAN_OK, "deposit_months": LOAN["min_deposit_months"] - 1})
    assert gap.outcome == "not_eligible" and f"满{LOAN['min_deposit_months']}个月" in gap.reasons[0]
    assert asked == ["purpose", "home_number", "deposit_months"]
    third, _ = walk(cases["loan"], {"purpose": "buy_new", "home_number": "third"})
    assert third.outcome == "not_eligible" and "第三套" in third.reasons[0]
    car, _ = walk(cases["loan"], {"purpose": "other"})
    assert car.outcome == "not_eligible"
    too_old, asked = walk(cases["loan"], {**LOAN_OK, "age": MALE_LIMIT, "gender": "male"})
    assert too_old.outcome == "not_eligible" and asked[-1] == "gender"
    woman, _ = walk(cases["loan"], {**LOAN_OK, "age": MALE_LIMIT - 1, "gender": "female"})
    assert woman.outcome == "not_eligible" and f"女{LOAN['retirement_age']['female']}岁" in woman.reasons[0]


def test_loan_term_past_retirement_or_the_maximum_needs_review(cases):
    long_term, _ = walk(cases["loan"], {**LOAN_OK, "age": 30, "years": LOAN["max_term_years"] + 1})
    assert long_term.outcome == "review" and f"最长{LOAN['max_term_years']}年" in long_term.reasons[0]
    late, _ = walk(cases["loan"], {**LOAN_OK, "age": FEMALE_LIMIT - 10, "gender": "female", "years": 11})
    assert late.outcome == "review" and "缩短" in late.reasons[0]
    fits, _ = walk(cases["loan"], {**LOAN_OK, "age": FEMALE_LIMIT - 10, "gender": "female", "years": 10})
    assert fits.outcome == "eligible"
