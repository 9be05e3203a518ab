"""`GET /loan/schedule`: the month-by-month repayment plan (还款计划表) as a page, opened from the bot's
loan answers ("逐月还款计划表"): every instalment with its principal, interest and what is left, under the
same figures and rate note as the answer. Server-rendered, every value escaped, styles from our own file."""
from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from core.errors import INVALID_REQUEST, error_responses
from core.pages import page_headers
from policy import calculator
from policy.calculator import Method, money
from policy.deps import LoanParamsDep
from policy.loan_api import NO_PARAMS, REPAYMENT_INPUT, RepaymentRequest, compute_repayment
from policy.loan_params import Home

router = APIRouter(tags=["loan"])


@router.get("/loan/schedule", response_class=HTMLResponse, summary="The month-by-month repayment plan as a page",
            responses=error_responses(INVALID_REQUEST, REPAYMENT_INPUT, NO_PARAMS, route_answers_json=False))
def schedule_page(
    params: LoanParamsDep,
    principal: Annotated[float, Query(description="贷款金额（元）")],
    years: Annotated[int, Query(description="贷款年限")],
    method: Annotated[Method, Query()] = "equal_installment",
    home: Annotated[Home, Query()] = "first",
) -> HTMLResponse:
    request = RepaymentRequest(principal=principal, years=years, method=method, home=home)
    result, _, note = compute_repayment(request, params)
    summary = calculator.repayment_text(result, note)
    rows = "".join(
        f"<tr><td>{row.month}</td><td>{money(row.payment):,.2f}</td><td>{money(row.principal):,.2f}</td>"
        f"<td>{money(row.interest):,.2f}</td><td>{money(row.remaining):,.2f}</td></tr>"
        for row in result.schedule
    )
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>逐月还款计划表</title>'
        '<link rel="stylesheet" href="/static/theme.css"></head><body><main class="schedule">'
        f"<h1>逐月还款计划表</h1><p>{escape(summary)}</p>"
        "<table><thead><tr><th>期数</th><th>月供（元）</th><th>本金（元）</th><th>利息（元）</th><th>剩余本金（元）</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></main></body></html>"
    )
    return HTMLResponse(page, headers=page_headers())
