"""The centre's export files: every kind of bad row reported with its row number and skipped (never
repaired), a missing column refused for the whole file, XLSX and GB18030 CSV read like UTF-8, depositors
joined with their loans in account_no order, and the generator's output read back with no bad row."""
from __future__ import annotations

import filecmp
from datetime import date
from pathlib import Path

import phonenumbers
import pytest

from outreach.centre_data import CentreDataError, FileSource
from outreach.records import DepositorStatus, LoanKind
from outreach.synthetic import generate

DEPOSITOR_HEADER = ("account_no,name,mobile,wechat_openid,app_user_id,employer_id,birth_date,status,monthly_base,"
                    "monthly_deposit,balance,continuous_months,opened_on")
LOAN_HEADER = ("loan_id,account_no,kind,principal,balance,annual_rate,remaining_months,method,started_on,"
               "repay_withdrawal,overdue")
GOOD = "A001,张伟,13812345678,oABC,u1,E1,1985-03-02,normal,8000,1920,52000.5,36,2015-06-01"


def depositor(account: str, **changes: str) -> str:
    values = dict(zip(DEPOSITOR_HEADER.split(","), GOOD.split(","), strict=True))
    values.update(account_no=account, **changes)
    return ",".join(values.values())


def loan(loan_id: str, account: str, **changes: str) -> str:
    values = {"loan_id": loan_id, "account_no": account, "kind": "hpf", "principal": "500000",
              "balance": "300000", "annual_rate": "2.85", "remaining_months": "180", "method": "equal_installment",
              "started_on": "2019-05-01", "repay_withdrawal": "0", "overdue": "0"}
    values.update(changes)
    return ",".join(values.values())


def write(folder: Path, name: str, lines: list[str], encoding: str = "utf-8") -> None:
    (folder / name).write_text("\n".join(lines) + "\n", encoding=encoding)


def test_bad_rows_are_reported_with_row_numbers_and_skipped(tmp_path: Path) -> None:
    write(tmp_path, "depositors.csv", [
        DEPOSITOR_HEADER,
        depositor("A001"),                                   # 1 good
        depositor("A002", mobile="12345"),                   # 2 not a mobile
        depositor("A003", birth_date="1985-02-30"),          # 3 no such day
        depositor("A004", status="frozen"),                  # 4 not a documented status
        depositor("A005", balance="很多"),                    # 5 not a number
        depositor("A006", monthly_base="-1"),                # 6 negative
        depositor("A007", continuous_months="3.5"),          # 7 not whole
        depositor("A008", name=""),                          # 8 required value empty
        depositor("A009") + ",extra",                        # 9 a cell more than the header
        depositor("A0095"),                                  # 10 good
        depositor("A0095"),                                  # 11 the same account again
        depositor("A000"),                                   # 12 out of account_no order
        depositor("A011", mobile="+86 138-1234-5679", status="封存"),  # 13 good: layout and a Chinese label
    ])
    write(tmp_path, "loans.csv", [LOAN_HEADER, loan("L1", "A001")])
    source = FileSource(tmp_path)
    people = list(source.people())

    assert [p.depositor.account_no for p in people] == ["A001", "A0095", "A011"]
    assert people[2].depositor.mobile == "+8613812345679"
    assert people[2].depositor.status is DepositorStatus.SEALED
    found = {(bad.row, bad.column, bad.code) for bad in source.report.bad}
    assert found == {
        (2, "mobile", "mobile_invalid"), (3, "birth_date", "date_invalid"), (4, "status", "enum_invalid"),
        (5, "balance", "not_a_number"), (6, "monthly_base", "out_of_range"),
        (7, "continuous_months", "not_an_integer"), (8, "name", "value_missing"), (9, "", "cell_count"),
        (11, "account_no", "duplicate"), (12, "account_no", "out_of_order"),
    }
    assert source.report.count == 10
    assert all(bad.file == "depositors.csv" and bad.message for bad in source.report.bad)
    # No personal number is repeated back in the report.
    assert not any("12345" in bad.message for bad in source.report.bad)

    # Reading again replaces the file's report rather than adding to it.
    list(source.people())
    assert source.report.count == 10


def test_loans_join_their_depositor_and_orphans_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "depositors.csv", [DEPOSITOR_HEADER, depositor("A001"), depositor("A003"), depositor("A005")])
    write(tmp_path, "loans.csv", [
        LOAN_HEADER,
        loan("L0", "A000"),                                         # 1 no such depositor
        loan("L1a", "A001"),                                        # 2
        loan("L1b", "A001", kind="商业贷款", method="等额本金"),      # 3
        loan("L2", "A002"),                                         # 4 no such depositor
        loan("L3", "A003", balance="600000"),                       # 5 balance above principal
        loan("L3x", "A001"),                                        # 6 out of order
        loan("L5", "A005", repay_withdrawal="是", annual_rate="0"),  # 7 rate must be above 0
        loan("L6", "A009"),                                         # 8 after the last depositor
    ])
    source = FileSource(tmp_path)
    people = {p.depositor.account_no: p for p in source.people()}
    assert [x.loan_id for x in people["A001"].loans] == ["L1a", "L1b"]
    assert people["A001"].loans[1].kind is LoanKind.COMMERCIAL
    assert people["A001"].loans[1].method == "equal_principal"
    assert people["A003"].loans == () and people["A005"].loans == ()
    assert {(bad.row, bad.column, bad.code) for bad in source.report.bad} == {
        (1, "account_no", "depositor_missing"), (4, "account_no", "depositor_missing"),
        (5, "balance", "balance_above_principal"), (6, "account_no", "out_of_order"),
        (7, "annual_rate", "out_of_range"), (8, "account_no", "depositor_missing"),
    }
    # The report says where, never the account or contract numbers themselves.
    assert not any("A00" in bad.message or "L" in bad.message for bad in source.report.bad)


def test_a_missing_required_column_refuses_the_whole_file(tmp_path: Path) -> None:
    header = DEPOSITOR_HEADER.replace(",birth_date", "").replace(",status", "")
    write(tmp_path, "depositors.csv", [header])
    write(tmp_path, "loans.csv", [LOAN_HEADER])
    with pytest.raises(CentreDataError) as raised:
        list(FileSource(tmp_path).people())
    assert raised.value.code == "centre_data_column_missing"
    assert "birth_date" in raised.value.message and "status" in raised.value.message
    assert "depositors.csv" in raised.value.message


def test_optional_columns_may_be_left_out_and_a_missing_file_is_named(tmp_path: Path) -> None:
    header = DEPOSITOR_HEADER.replace(",wechat_openid,app_user_id", "")
    write(tmp_path, "depositors.csv", [header, "A001,张伟,13812345678,E1,1985-03-02,normal,8000,1920,52000,36,2015-06-01"])
    with pytest.raises(CentreDataError) as raised:
        list(FileSource(tmp_path).people())
    assert raised.value.code == "centre_data_missing" and "loans" in raised.value.message
    write(tmp_path, "loans.csv", [LOAN_HEADER])
    (person,) = FileSource(tmp_path).people()
    assert person.depositor.wechat_openid is None and person.depositor.app_user_id is None


def test_gb18030_and_bom_csv_read_alike(tmp_path: Path) -> None:
    lines = [DEPOSITOR_HEADER, depositor("A001", name="欧阳娜娜", status="正常")]
    for folder, encoding in ((tmp_path / "gb", "gb18030"), (tmp_path / "bom", "utf-8-sig")):
        folder.mkdir()
        write(folder, "depositors.csv", lines, encoding)
        write(folder, "loans.csv", [LOAN_HEADER, loan("L1", "A001", kind="组合贷款")], encoding)
        (person,) = FileSource(folder).people()
        assert person.depositor.name == "欧阳娜娜"
        assert person.loans[0].kind is LoanKind.COMBINATION


def test_xlsx_with_typed_cells(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(DEPOSITOR_HEADER.split(","))
    sheet.append(["A001", "张伟", 13812345678, None, None, "E1", date(1985, 3, 2), "normal", 8000, 1920.5, 52000,
                  36, date(2015, 6, 1)])
    sheet.append(["A002", "李娜", 13812345679, None, None, "E1", "不是日期", "normal", 8000, 1920, 52000, 36,
                  date(2015, 6, 1)])
    sheet.append(["A003", "王芳", 13812345670, None, None, "E1", date(1990, 1, 1), "normal", 8000, 1920, 52000, 36,
                  date(2015, 6, 1), "多出来的"])
    book.save(tmp_path / "depositors.xlsx")
    write(tmp_path, "loans.csv", [LOAN_HEADER, loan("L1", "A001")])
    source = FileSource(tmp_path)
    (person,) = source.people()
    assert person.depositor.mobile == "+8613812345678"
    assert person.depositor.birth_date == date(1985, 3, 2)
    assert person.depositor.monthly_deposit == 1920.5
    assert len(person.loans) == 1
    assert {(bad.file, bad.row, bad.code) for bad in source.report.bad} == {
        ("depositors.xlsx", 2, "date_invalid"), ("depositors.xlsx", 3, "cell_count")}


def test_employers_assistants_and_contributions(tmp_path: Path) -> None:
    write(tmp_path, "employers.csv", ["employer_id,name,admin_name,admin_mobile,status",
                                      "E1,华信科技有限公司,王强,13812345678,normal",
                                      "E2,恒达商贸有限公司,李娜,,暂停缴存",
                                      "E3,永安中学,,13812345679,normal"])
    write(tmp_path, "assistants.csv", ["assistant_id,name,mobile,organisation,kind",
                                       "A1,赵敏,13812345670,中国建设银行城区支行,银行",
                                       "A2,钱伟,13812345671,华信房地产开发有限公司,landlord"])
    write(tmp_path, "contributions.csv", ["account_no,month,amount,paid",
                                          "A001,2026-10,1920,1", "A001,2026-13,1920,1", "A002,2026-11,0,maybe"])
    source = FileSource(tmp_path)
    employers = list(source.employers())
    assert [(e.employer_id, e.admin_mobile, e.status) for e in employers] == [
        ("E1", "+8613812345678", "normal"), ("E2", None, "suspended")]
    assert [a.assistant_id for a in source.assistants()] == ["A1"]
    assert [(c.month, c.paid) for c in source.contributions()] == [("2026-10", True)]
    assert {(bad.file, bad.row, bad.column, bad.code) for bad in source.report.bad} == {
        ("employers.csv", 3, "admin_name", "value_missing"), ("assistants.csv", 2, "kind", "enum_invalid"),
        ("contributions.csv", 2, "month", "month_invalid"), ("contributions.csv", 3, "paid", "bool_invalid")}


def test_find_scans_for_one_person(tmp_path: Path) -> None:
    write(tmp_path, "depositors.csv", [DEPOSITOR_HEADER, depositor("A001"),
                                       depositor("A002", mobile="13900000001", wechat_openid="oXYZ", app_user_id="u2"),
                                       depositor("A003", mobile="13900000001", wechat_openid="", app_user_id="")])
    write(tmp_path, "loans.csv", [LOAN_HEADER, loan("L2", "A002")])
    source = FileSource(tmp_path)
    by_openid = source.find(wechat_openid="oXYZ")
    assert by_openid is not None and by_openid.depositor.account_no == "A002" and len(by_openid.loans) == 1
    by_app = source.find(app_user_id="u1")
    assert by_app is not None and by_app.depositor.account_no == "A001"
    assert source.find(mobile="138 1234 5678") is not None
    assert source.find(mobile="13900000001") is None  # two depositors share it: not guessed
    assert source.find(mobile="not a number") is None and source.find() is None


def test_generator_is_deterministic_and_reads_back_clean(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    counts = generate(depositors=2000, seed=11, months=6, as_of=date(2026, 12, 1), out=first)
    generate(depositors=2000, seed=11, months=6, as_of=date(2026, 12, 1), out=second)
    generate(depositors=2000, seed=12, months=6, as_of=date(2026, 12, 1), out=other)
    names = ["depositors.csv", "loans.csv", "employers.csv", "assistants.csv", "contributions.csv"]
    match, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert match == names and not mismatch and not errors
    assert not filecmp.cmp(first / "depositors.csv", other / "depositors.csv", shallow=False)

    source = FileSource(first)
    people = list(source.people())
    assert len(people) == counts.depositors == 2000
    assert sum(len(p.loans) for p in people) == counts.loans
    assert sum(1 for _ in source.employers()) == counts.employers
    assert sum(1 for _ in source.assistants()) == counts.assistants
    assert sum(1 for _ in source.contributions()) == counts.contributions
    assert source.report.count == 0, source.report.bad[:5]
    kinds = {loan.kind for p in people for loan in p.loans}
    assert kinds == set(LoanKind)
    mobiles = [p.depositor.mobile for p in people]
    assert len(set(mobiles)) == len(mobiles)
    assert all(m and phonenumbers.is_valid_number(phonenumbers.parse(m)) for m in mobiles)  # campaigns accept them
    assert any(p.depositor.wechat_openid for p in people) and any(p.depositor.app_user_id for p in people)
    assert any(loan.repay_withdrawal for p in people for loan in p.loans)
    assert any(loan.overdue for p in people for loan in p.loans)
