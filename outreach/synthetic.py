"""Synthetic data in the centre's documented export format: nothing real ever ships.

    python -m outreach.synthetic --depositors 1000000 --out data/centre [--seed 7] [--months 12]
                                 [--as-of 2026-12-01] [--sqlite data/centre.db]

Writes depositors.csv, loans.csv, employers.csv, assistants.csv and contributions.csv (UTF-8, sorted by
account_no as docs/outreach.md requires) and, with --sqlite, the same rows into a SQLite database with
the hpf_* views, for the SQL-view path. The same seed and --as-of give the same files byte for byte.

What it looks like: Chinese names from common surnames and given-name characters, mainland mobiles
(unique per person), a WeChat openid for some and an app user id for others, employers each with their
单位专管员, developers' and banks' 协办人员, and loans (公积金, 商业, 组合) at the rates of
policy/params/loan.yml (the current one, some still at the one before), some with repayment
withdrawal set up, a few overdue; monthly contributions for the last --months months.
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    text,
)

from core.settings import ROOT, normalise_db_url
from outreach.centre_schema import ASSISTANTS, CONTRIBUTIONS, DEPOSITORS, EMPLOYERS, LOANS
from outreach.centre_schema import Table as Documented
from policy.loan_params import RateEntry, load_params

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
            "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏建国建华志强海燕晓东浩宇欣怡子涵梓轩"
         "佳琪思远文博雨萱俊杰一鸣嘉怡晨阳家豪婉婷振华德明淑珍凤英玉梅春梅丽娟秀珍雪梅立新志明永强卫东红梅")
COMPANY_WORDS = ("华信", "恒达", "永安", "盛世", "宏远", "天成", "瑞丰", "金鼎", "鸿运", "新城", "泰和", "中和", "东方",
                 "锦程", "博源", "兴业", "汇通", "长城", "润泽", "华泰")
COMPANY_KINDS = ("科技有限公司", "商贸有限公司", "建设集团有限公司", "机械制造有限公司", "物流有限公司", "医院",
                 "中学", "钢铁有限公司", "食品有限公司", "电子有限公司")
BANKS = ("中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "交通银行", "中国邮政储蓄银行", "河北银行")
BRANCHES = ("城区支行", "开发区支行", "营业部", "东区支行", "西区支行")
OPENID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
COMMERCIAL_RATES = (3.05, 3.1, 3.2, 3.35, 3.45, 3.65, 3.95, 4.2)
# Prefixes the mobile networks really use (libphonenumber accepts them all), then eight digits from a
# bijection of 0…10⁸−1 (the multiplier is coprime with 10): every person gets a different mobile.
MOBILE_PREFIXES = ("130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "147", "150", "151",
                   "152", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180",
                   "181", "182", "183", "185", "186", "187", "188", "189", "191", "195", "198", "199")
MOBILE_STEP, MOBILE_OFFSET, MOBILE_SPACE = 7_919_993, 123_457, 100_000_000
META = MetaData()


def _table(documented: Documented, types: dict[str, Any]) -> Table:
    columns = [Column(c.name, types.get(c.name, String(100)), nullable=not c.required) for c in documented.columns]
    return Table(f"centre_{documented.name}", META, *columns)


_DATE, _FLOAT, _INT, _BOOL = Date(), Float(), Integer(), Boolean()
TABLES = {
    "depositors": _table(DEPOSITORS, {"birth_date": _DATE, "opened_on": _DATE, "monthly_base": _FLOAT,
                                      "monthly_deposit": _FLOAT, "balance": _FLOAT, "continuous_months": _INT}),
    "loans": _table(LOANS, {"principal": _FLOAT, "balance": _FLOAT, "annual_rate": _FLOAT,
                            "remaining_months": _INT, "started_on": _DATE, "repay_withdrawal": _BOOL,
                            "overdue": _BOOL}),
    "employers": _table(EMPLOYERS, {}),
    "assistants": _table(ASSISTANTS, {}),
    "contributions": _table(CONTRIBUTIONS, {"amount": _FLOAT, "paid": _BOOL}),
}
DOCUMENTED = {"depositors": DEPOSITORS, "loans": LOANS, "employers": EMPLOYERS, "assistants": ASSISTANTS,
              "contributions": CONTRIBUTIONS}
BATCH = 10_000


@dataclass
class Counts:
    depositors: int = 0
    loans: int = 0
    employers: int = 0
    assistants: int = 0
    contributions: int = 0


@dataclass
class _Sink:
    """Where rows go: a CSV writer per table and, optionally, batched inserts into a database."""

    out: Path | None
    engine: Engine | None
    files: dict[str, TextIO] = field(default_factory=dict)
    writers: dict[str, Any] = field(default_factory=dict)
    batches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def open(self) -> None:
        for name, documented in DOCUMENTED.items():
            if self.out is not None:
                self.out.mkdir(parents=True, exist_ok=True)
                handle = (self.out / f"{name}.csv").open("w", encoding="utf-8", newline="", buffering=1 << 20)
                self.files[name] = handle
                self.writers[name] = csv.writer(handle, lineterminator="\n")
                self.writers[name].writerow([c.name for c in documented.columns])
            self.batches[name] = []
        if self.engine is not None:
            _create(self.engine)

    def write(self, name: str, row: tuple[Any, ...]) -> None:
        if self.out is not None:
            self.writers[name].writerow([int(v) if v is True or v is False else v for v in row])
        if self.engine is not None:
            batch = self.batches[name]
            batch.append(dict(zip((c.name for c in DOCUMENTED[name].columns), row, strict=True)))
            if len(batch) >= BATCH:
                self._flush(name)

    def _flush(self, name: str) -> None:
        batch = self.batches[name]
        if batch and self.engine is not None:
            with self.engine.begin() as conn:
                conn.execute(insert(TABLES[name]), batch)
            batch.clear()

    def close(self) -> None:
        for name in DOCUMENTED:
            self._flush(name)
        for handle in self.files.values():
            handle.close()


def _create(engine: Engine) -> None:
    """The backing tables and the documented hpf_* views over them (dropped first: a fresh database)."""
    with engine.begin() as conn:
        for name in DOCUMENTED:
            conn.execute(text(f"DROP VIEW IF EXISTS hpf_{name}"))
        META.drop_all(conn)
        META.create_all(conn)
        for name, documented in DOCUMENTED.items():
            columns = ", ".join(c.name for c in documented.columns)
            conn.execute(text(f"CREATE VIEW hpf_{name} AS SELECT {columns} FROM centre_{name}"))
        for name, column in (("depositors", "account_no"), ("depositors", "mobile"), ("depositors", "wechat_openid"),
                             ("depositors", "app_user_id"), ("loans", "account_no")):
            conn.execute(text(f"CREATE INDEX ix_centre_{name}_{column} ON centre_{name} ({column})"))


def generate(*, depositors: int, seed: int = 7, months: int = 12, as_of: date | None = None,
             out: Path | None = None, database_url: str | None = None) -> Counts:
    """Writes the export files into `out` and/or the tables and views into `database_url`."""
    as_of = as_of or date.today()
    rng = random.Random(seed)
    params = load_params(ROOT / "policy" / "params" / "loan.yml")
    current = params.rate_entry(as_of)
    older = [entry for entry in params.rates if entry.effective < current.effective]
    previous = older[0] if older else current
    engine = create_engine(normalise_db_url(database_url, sync=True)) if database_url else None
    sink = _Sink(out, engine)
    sink.open()
    counts = Counts()
    try:
        employer_count = max(1, depositors // 40)
        for row in _employers(rng, employer_count):
            sink.write("employers", row)
            counts.employers += 1
        for row in _assistants(rng, max(10, depositors // 5000)):
            sink.write("assistants", row)
            counts.assistants += 1
        months_back = _months(as_of, months)
        for i in range(depositors):
            person = _depositor(rng, i, employer_count, as_of)
            sink.write("depositors", person)
            counts.depositors += 1
            for loan in _loans(rng, person, as_of, current, previous):
                sink.write("loans", loan)
                counts.loans += 1
            for contribution in _contributions(person, months_back):
                sink.write("contributions", contribution)
                counts.contributions += 1
    finally:
        sink.close()
        if engine is not None:
            engine.dispose()
    return counts


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def _mobile(rng: random.Random, index: int) -> str:
    return f"{rng.choice(MOBILE_PREFIXES)}{(index * MOBILE_STEP + MOBILE_OFFSET) % MOBILE_SPACE:08d}"


def _employers(rng: random.Random, count: int) -> Iterator[tuple[Any, ...]]:
    for i in range(count):
        name = rng.choice(COMPANY_WORDS) + rng.choice(COMPANY_WORDS) + rng.choice(COMPANY_KINDS)
        status = "normal" if rng.random() < 0.95 else rng.choice(("suspended", "closed"))
        mobile = _mobile(rng, 90_000_000 + i) if rng.random() < 0.97 else ""
        yield (f"E{i:08d}", name, _name(rng), mobile, status)


def _assistants(rng: random.Random, count: int) -> Iterator[tuple[Any, ...]]:
    for i in range(count):
        if rng.random() < 0.5:
            kind, organisation = "bank", rng.choice(BANKS) + rng.choice(BRANCHES)
        else:
            developer = rng.choice(COMPANY_WORDS) + rng.choice(COMPANY_WORDS)
            kind, organisation = "developer", f"{developer}房地产开发有限公司"
        yield (f"A{i:06d}", _name(rng), _mobile(rng, 95_000_000 + i), organisation, kind)


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange(max(1, (end - start).days)))


def _depositor(rng: random.Random, index: int, employers: int, as_of: date) -> tuple[Any, ...]:
    roll = rng.random()
    status = "normal" if roll < 0.92 else "sealed" if roll < 0.98 else "closed"
    birth = _day(rng, date(as_of.year - 60, 1, 1), date(as_of.year - 22, 1, 1))
    opened = _day(rng, date(max(birth.year + 20, 2000), 1, 1), as_of)
    base = float(rng.randrange(2_000, 30_000, 100))
    deposit = round(base * 2 * rng.choice((0.05, 0.07, 0.08, 0.10, 0.12)), 2)
    months_open = max(0, (as_of.year - opened.year) * 12 + as_of.month - opened.month)
    streak = rng.choice((months_open, months_open, rng.randrange(60)))  # a third broke their streak once
    continuous = 0 if status != "normal" else min(months_open, streak)
    balance = round(deposit * min(months_open, rng.randrange(1, 200)) * rng.uniform(0.3, 1.1), 2)
    openid = "o" + "".join(rng.choices(OPENID_CHARS, k=27)) if rng.random() < 0.4 else ""
    app_user = f"u{rng.randrange(10**9):09d}" if rng.random() < 0.3 else ""
    return (f"4301{index:010d}", _name(rng), _mobile(rng, index), openid, app_user,
            f"E{rng.randrange(employers):08d}", birth, status, base, deposit, balance, continuous, opened)


def _loans(rng: random.Random, person: tuple[Any, ...], as_of: date, current: RateEntry,
           previous: RateEntry) -> Iterator[tuple[Any, ...]]:
    if rng.random() >= 0.35:
        return
    account_no = person[0]
    for number in range(1 if rng.random() < 0.9 else 2):
        roll = rng.random()
        kind = "hpf" if roll < 0.6 else "commercial" if roll < 0.85 else "combination"
        years = rng.choice((10, 15, 20, 25, 30))
        started = _day(rng, date(2012, 1, 1), as_of)
        elapsed = (as_of.year - started.year) * 12 + as_of.month - started.month
        remaining = max(1, years * 12 - elapsed)
        principal = float(rng.randrange(200_000, 1_000_000, 1_000))
        balance = round(principal * remaining / (years * 12), 2)
        if kind == "commercial":
            rate = rng.choice(COMMERCIAL_RATES)
        else:
            entry = current if rng.random() < 0.8 else previous
            rate = entry.percent("first" if rng.random() < 0.9 else "second", years)
        method = "equal_installment" if rng.random() < 0.85 else "equal_principal"
        yield (f"L{account_no}{number}", account_no, kind, principal, balance, rate, remaining, method, started,
               rng.random() < 0.35, rng.random() < 0.02)


def _months(as_of: date, count: int) -> list[str]:
    year, month = as_of.year, as_of.month
    listed = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        listed.append(f"{year:04d}-{month:02d}")
    return listed[::-1]


def _contributions(person: tuple[Any, ...], months: list[str]) -> Iterator[tuple[Any, ...]]:
    """The last months, unpaid before the depositor's current streak of full payments began."""
    account_no, deposit, continuous, status = person[0], person[9], person[11], person[7]
    if status == "closed":
        return
    first_paid = len(months) - continuous
    for i, month in enumerate(months):
        paid = i >= first_paid and status == "normal"
        yield (account_no, month, deposit if paid else 0.0, paid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m outreach.synthetic",
                                     description="合成公积金中心导出数据（非真实数据）")
    parser.add_argument("--depositors", type=int, required=True, help="how many depositors")
    parser.add_argument("--out", type=Path, help="folder for the CSV exports")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--months", type=int, default=12, help="monthly contributions for this many months")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default today)")
    parser.add_argument("--sqlite", type=Path, help="also write a SQLite database with the hpf_* views")
    args = parser.parse_args(argv)
    if args.out is None and args.sqlite is None:
        parser.error("--out or --sqlite is needed")
    if args.depositors < 1 or args.months < 0:
        parser.error("--depositors must be at least 1 and --months at least 0")
    if args.sqlite is not None:
        args.sqlite.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    counts = generate(depositors=args.depositors, seed=args.seed, months=args.months, as_of=args.as_of, out=args.out,
                      database_url=f"sqlite:///{args.sqlite.resolve()}" if args.sqlite else None)
    print(f"{counts.depositors} depositors, {counts.loans} loans, {counts.employers} employers, "
          f"{counts.assistants} assistants, {counts.contributions} contributions in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
