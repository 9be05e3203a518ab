"""The monthly 好差评 report: the month's figures by business, channel, department and agent, by day,
the reasons for bad ratings and rectification, as an XLSX workbook with native Excel charts or a PDF
with its charts drawn in (fpdf2, a CJK font from the machine).

`gather` reads the figures (a handful of grouped queries, whatever the number of ratings); `xlsx` and
`pdf` only lay them out, so they run in a worker thread beside the event loop.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ApiError
from core.settings import Settings
from ratings import analysis, scoring
from ratings.levels import LABELS, Level

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SECTIONS = (("business", "按业务"), ("channel", "按渠道"), ("department", "按部门"), ("agent", "按坐席"))
LEVEL_TITLES = [LABELS[level] for level in analysis.LEVELS]
# Where Debian puts the CJK fonts it packages (fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk).
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


@dataclass
class Report:
    month: str  # yyyy-mm
    made_at: datetime
    scores: dict[int, float]
    total: dict[str, Any]
    sections: dict[str, list[dict[str, Any]]]  # business/channel/department/agent → scored rows
    days: list[dict[str, Any]]
    reasons: list[dict[str, Any]]
    rectification: dict[str, Any]


def parse_month(text: str) -> tuple[int, int]:
    """yyyy-mm, as the page and the API take it."""
    parts = text.split("-")
    if len(parts) == 2 and len(parts[0]) == 4 and len(parts[1]) == 2 and all(p.isdigit() for p in parts):
        year, month = int(parts[0]), int(parts[1])
        if 2000 <= year <= 2999 and 1 <= month <= 12:
            return year, month
    raise ApiError(422, "month_invalid", "月份请按 yyyy-mm 填写，例如 2026-11。")


async def gather(session: AsyncSession, settings: Settings, month: str, *, now: datetime) -> Report:
    year, number = parse_month(month)
    window = analysis.Window.month(year, number)
    scores = scoring.scores(settings)
    grouped = {by: await analysis.figures(session, settings, window, by=by, now=now) for by, _title in SECTIONS}
    days = analysis.scored(await analysis.figures(session, settings, window, by="period", period="day", now=now),
                           settings)
    return Report(
        month=f"{year:04d}-{number:02d}", made_at=now, scores=scores,
        # Every section sums to the same month; the channels' rows will do for the total.
        total=analysis.total(grouped["channel"]).as_dict(scores),
        sections={by: analysis.scored(rows, settings) for by, rows in grouped.items()}, days=days,
        reasons=await analysis.reasons(session, window, now=now),
        rectification=await analysis.rectification(session, window, now=now, by_department=True),
    )


# -- XLSX -----------------------------------------------------------------------------------------------

def _cell(value: object) -> object:
    """A text a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


FIGURE_HEADER = ["名称", "评价数", "满意度", "好评率", "差评率", "平均得分", *LEVEL_TITLES, "申诉撤销"]


def _figure_line(row: dict[str, Any]) -> list[object]:
    return [_cell(row["label"]), row["count"], row["satisfaction"], row["good"], row["bad"], row["score"],
            *(row["levels"][str(int(level))] for level in analysis.LEVELS), row["marked"]]


def xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Font

    book = Workbook()
    bold = Font(bold=True)
    sheet = book.active
    assert sheet is not None
    sheet.title = "概览"
    sheet.append([f"{report.month} 好差评月度报告"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"生成时间 {report.made_at.astimezone(analysis.LOCAL):%Y-%m-%d %H:%M}（北京时间）"])
    sheet.append(["满意度 = 平均得分 ÷ 10；得分 " + "、".join(
        f"{LABELS[Level(level)]} {score:g}" for level, score in report.scores.items()) + "；申诉撤销的评价不计入。"])
    sheet.append([])
    sheet.append(FIGURE_HEADER)
    sheet.append(_figure_line({**report.total, "label": "全月合计"}))
    _percent(sheet, 6, 6)
    sheet.append([])
    sheet.append(["日期", "评价数", "满意度"])
    first = sheet.max_row + 1
    for day in report.days:
        sheet.append([day["key"], day["count"], day["satisfaction"]])
    last = sheet.max_row
    _percent(sheet, first, last, columns=(3,))
    for row in (5, first - 1):
        for cell in sheet[row]:
            cell.font = bold
    if report.days:
        line = LineChart()
        line.title, line.y_axis.title, line.height, line.width = "每日满意度", "满意度", 8, 18
        line.add_data(Reference(sheet, min_col=3, min_row=first - 1, max_row=last), titles_from_data=True)
        line.set_categories(Reference(sheet, min_col=1, min_row=first, max_row=last))
        line.y_axis.scaling.min, line.y_axis.scaling.max = 0, 1
        line.y_axis.number_format = "0%"
        sheet.add_chart(line, "E8")
        bars = BarChart()
        bars.title, bars.height, bars.width = "每日评价数", 8, 18
        bars.add_data(Reference(sheet, min_col=2, min_row=first - 1, max_row=last), titles_from_data=True)
        bars.set_categories(Reference(sheet, min_col=1, min_row=first, max_row=last))
        sheet.add_chart(bars, "E26")

    for by, title in SECTIONS:
        part = book.create_sheet(title)
        part.append(FIGURE_HEADER)
        for cell in part[1]:
            cell.font = bold
        for row in report.sections[by]:
            part.append(_figure_line(row))
        _percent(part, 2, part.max_row)
        if report.sections[by]:
            chart = BarChart()
            chart.type, chart.title, chart.height, chart.width = "bar", f"{title}满意度", 8, 16
            chart.add_data(Reference(part, min_col=3, min_row=1, max_row=part.max_row), titles_from_data=True)
            chart.set_categories(Reference(part, min_col=1, min_row=2, max_row=part.max_row))
            chart.x_axis.scaling.orientation = "maxMin"  # the largest group on top, as in the table
            chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
            chart.y_axis.number_format = "0%"
            part.add_chart(chart, "N2")

    reasons = book.create_sheet("差评原因")
    reasons.append(["原因", "次数", "占差评比例"])
    for cell in reasons[1]:
        cell.font = bold
    for reason in report.reasons:
        reasons.append([reason["reason"], reason["count"], reason["share"]])
    _percent(reasons, 2, reasons.max_row, columns=(3,))
    chart = BarChart()
    chart.title, chart.height, chart.width = "差评原因", 8, 16
    chart.add_data(Reference(reasons, min_col=2, min_row=1, max_row=reasons.max_row), titles_from_data=True)
    chart.set_categories(Reference(reasons, min_col=1, min_row=2, max_row=reasons.max_row))
    reasons.add_chart(chart, "E2")

    cases = book.create_sheet("整改")
    header = ["部门", "整改单", "已办结", "按时办结", "按时办结率", "当前超期", "已回访", "限时回访", "回访率",
              "限时回访率", "已升级"]
    cases.append(header)
    for cell in cases[1]:
        cell.font = bold
    r = report.rectification
    for d in [*r["departments"], {**r, "department": "合计"}]:
        cases.append([_cell(d["department"]), d["opened"], d["closed"], d["closed_on_time"], d["on_time"],
                      d["overdue_open"], d["called_back"], d["called_back_in_time"], d["called_back_share"],
                      d["called_back_in_time_share"], d["escalated"]])
    _percent(cases, 2, cases.max_row, columns=(5, 9, 10))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _percent(sheet: Any, first: int, last: int, columns: tuple[int, ...] = (3, 4, 5)) -> None:
    for row in sheet.iter_rows(min_row=first, max_row=last):
        for column in columns:
            if len(row) >= column:
                row[column - 1].number_format = "0.0%"


# -- PDF ------------------------------------------------------------------------------------------------

def font_path(settings: Settings) -> Path:
    if settings.rating_report_font is not None:
        if settings.rating_report_font.is_file():
            return settings.rating_report_font
        raise ApiError(503, "report_font_missing",
                       f"RATING_REPORT_FONT={settings.rating_report_font} 不存在，无法生成 PDF 报告。")
    for candidate in FONT_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise ApiError(503, "report_font_missing", "服务器缺少中文字体，无法生成 PDF 报告"
                   "（请安装 fonts-wqy-microhei，或用 RATING_REPORT_FONT 指定字体文件）。")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def pdf(report: Report, font: Path) -> bytes:
    from fpdf import FPDF

    doc = FPDF(orientation="P", unit="mm", format="A4")
    doc.set_auto_page_break(auto=True, margin=15)
    doc.add_font("cjk", "", str(font))
    doc.set_title(f"{report.month} 好差评月度报告")
    doc.set_creator("住房公积金客服")
    doc.set_keywords(f"ratings-report {report.month}")  # ASCII, so programs find the month in the file
    doc.add_page()
    doc.set_font("cjk", size=18)
    doc.cell(0, 12, f"{report.month} 好差评月度报告", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("cjk", size=9)
    made = report.made_at.astimezone(analysis.LOCAL)
    scores = "、".join(f"{LABELS[Level(lv)]} {s:g}" for lv, s in report.scores.items())
    doc.multi_cell(0, 5, f"生成时间 {made:%Y-%m-%d %H:%M}（北京时间）。满意度 = 平均得分 ÷ 10；得分 {scores}；"
                   "申诉撤销的评价不计入。", new_x="LMARGIN", new_y="NEXT")
    t = report.total
    doc.set_font("cjk", size=12)
    doc.ln(2)
    doc.cell(0, 8, f"评价 {t['count']} 条 · 满意度 {_pct(t['satisfaction'])} · 好评率 {_pct(t['good'])} · "
             f"差评率 {_pct(t['bad'])} · 申诉撤销 {t['marked']} 条", new_x="LMARGIN", new_y="NEXT")
    _trend(doc, report.days)
    for by, title in SECTIONS:
        _section(doc, title, report.sections[by])
    _reasons(doc, report.reasons)
    _cases(doc, report.rectification)
    return bytes(doc.output())


def _heading(doc: Any, text: str, need: float) -> None:
    if doc.get_y() + need > doc.h - 20:
        doc.add_page()
    doc.ln(3)
    doc.set_font("cjk", size=13)
    doc.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("cjk", size=9)


def _trend(doc: Any, days: list[dict[str, Any]]) -> None:
    """Bars of the day's ratings, a line of its satisfaction (0 to 100 %) over them."""
    _heading(doc, "每日评价数与满意度", 70)
    if not days:
        doc.cell(0, 6, "本月没有评价。", new_x="LMARGIN", new_y="NEXT")
        return
    x0, y0, width, height = doc.l_margin + 10, doc.get_y() + 2, doc.epw - 14, 50
    most = max(1, *(d["count"] for d in days))
    step = width / len(days)
    doc.set_draw_color(200, 200, 200)
    for tick in (0, 0.5, 1):
        y = y0 + height * (1 - tick)
        doc.line(x0, y, x0 + width, y)
        doc.text(doc.l_margin, y + 1, f"{int(tick * 100)}%")
    doc.set_fill_color(209, 233, 255)
    points = []
    for i, day in enumerate(days):
        h = height * day["count"] / most
        doc.rect(x0 + i * step + step * 0.15, y0 + height - h, step * 0.7, h, style="F")
        if day["satisfaction"] is not None:
            points.append((x0 + i * step + step / 2, y0 + height * (1 - day["satisfaction"])))
        if len(days) <= 16 or i % 3 == 0:
            doc.text(x0 + i * step, y0 + height + 4, day["key"][5:])
    doc.set_draw_color(21, 112, 239)
    doc.set_line_width(0.6)
    for a, b in zip(points, points[1:], strict=False):
        doc.line(a[0], a[1], b[0], b[1])
    doc.set_line_width(0.2)
    doc.text(x0 + width - 30, y0 - 1, f"柱：评价数（最多 {most}）  线：满意度")
    doc.set_y(y0 + height + 8)


def _section(doc: Any, title: str, rows: list[dict[str, Any]]) -> None:
    """A bar per group as long as its satisfaction, beside the count and the shares."""
    shown = rows[:25]
    more = "，显示评价最多的 25 组" if len(rows) > 25 else ""
    _heading(doc, f"{title}（{len(rows)} 组{more}）", 20 + 6 * len(shown[:8]))
    if not rows:
        doc.cell(0, 6, "本月没有评价。", new_x="LMARGIN", new_y="NEXT")
        return
    label_w, bar_w = 42, 70
    for row in shown:
        if doc.get_y() > doc.h - 20:
            doc.add_page()
            doc.set_font("cjk", size=9)
        y = doc.get_y()
        label = row["label"] if len(row["label"]) <= 14 else row["label"][:13] + "…"
        doc.cell(label_w, 6, label)
        doc.set_fill_color(235, 235, 235)
        doc.rect(doc.l_margin + label_w, y + 1.2, bar_w, 3.6, style="F")
        satisfaction = row["satisfaction"] or 0
        if satisfaction < 0.8:
            doc.set_fill_color(249, 112, 102)
        else:
            doc.set_fill_color(18, 183, 106)
        if satisfaction > 0:
            doc.rect(doc.l_margin + label_w, y + 1.2, bar_w * satisfaction, 3.6, style="F")
        doc.set_x(doc.l_margin + label_w + bar_w + 3)
        doc.cell(0, 6, f"满意度 {_pct(row['satisfaction'])}  评价 {row['count']}  好评率 {_pct(row['good'])}  "
                 f"差评率 {_pct(row['bad'])}" + (f"  撤销 {row['marked']}" if row["marked"] else ""),
                 new_x="LMARGIN", new_y="NEXT")


def _reasons(doc: Any, reasons: list[dict[str, Any]]) -> None:
    _heading(doc, "差评原因", 50)
    most = max(1, *(r["count"] for r in reasons))
    doc.set_fill_color(249, 112, 102)
    for reason in reasons:
        y = doc.get_y()
        doc.cell(30, 6, reason["reason"])
        if reason["count"]:
            doc.rect(doc.l_margin + 30, y + 1.2, 90 * reason["count"] / most, 3.6, style="F")
        doc.set_x(doc.l_margin + 124)
        doc.cell(0, 6, f"{reason['count']} 次（{_pct(reason['share'])}）", new_x="LMARGIN", new_y="NEXT")


def _cases(doc: Any, r: dict[str, Any]) -> None:
    _heading(doc, "差评整改", 40)
    doc.multi_cell(0, 6, f"整改单 {r['opened']} 件，已办结 {r['closed']} 件，按时办结率 {_pct(r['on_time'])}，"
                   f"当前超期 {r['overdue_open']} 件；回访率 {_pct(r['called_back_share'])}，"
                   f"限时回访率 {_pct(r['called_back_in_time_share'])}，升级 {r['escalated']} 件。",
                   new_x="LMARGIN", new_y="NEXT")
    widths = (44, 20, 20, 26, 22, 24, 26)
    header = ("部门", "整改单", "已办结", "按时办结率", "当前超期", "回访率", "限时回访率")
    for width, text in zip(widths, header, strict=True):
        doc.cell(width, 6, text, border=1)
    doc.ln()
    for d in r["departments"]:
        values = (d["department"], d["opened"], d["closed"], _pct(d["on_time"]), d["overdue_open"],
                  _pct(d["called_back_share"]), _pct(d["called_back_in_time_share"]))
        for width, value in zip(widths, values, strict=True):
            doc.cell(width, 6, str(value), border=1)
        doc.ln()
