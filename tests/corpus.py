"""A small knowledge corpus written by tests: three articles with parameter placeholders and one to add."""
from __future__ import annotations

from pathlib import Path

TEMPLATE = """---
id: {id}
title: {title}
category: {category}
keywords: [{keywords}]
effective_date: 2026-01-01
source: 测试来源
summary: {summary}
---
## 所需材料
{materials}
## 办理时限
{time}
"""

ARTICLES = {
    "rent": ("租房提取住房公积金", "提取", "租房, 房租, 租金", "无房职工租房可以提取，每年最多{{loan.caps.single|wan}}。",
             "身份证、房屋租赁合同、租赁备案证明。", "3个工作日内办结。"),
    "rates": ("公积金贷款利率", "贷款", "利率, 利息", "首套房五年以上利率为{{loan.rates.current.first_home.over_5y}}%。",
              "无需材料。", "利率调整后次年1月1日执行。"),
    "transfer": ("异地转移接续", "账户", "转移, 换城市", "换城市工作后，在新城市开户后申请转入。",
                 "身份证、新单位开户证明。", "3个工作日完成转移。"),
}
SEAL = ("账户封存", "账户", "封存, 离职", "离职后账户封存。", "身份证", "当日")


def article(article_id: str, spec: tuple = SEAL, **changes: str) -> str:
    title, category, keywords, summary, materials, time = spec
    fields = dict(id=article_id, title=title, category=category, keywords=keywords, summary=summary,
                  materials=materials, time=time)
    return TEMPLATE.format(**{**fields, **changes})


def write_seed(folder: Path, articles: dict[str, tuple] = ARTICLES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for article_id, spec in articles.items():
        (folder / f"{article_id}.md").write_text(article(article_id, spec), encoding="utf-8")
    return folder
