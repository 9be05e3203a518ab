"""The counter rating page a window's QR code opens, its refusal page, and the printable sheet with the
code: HTML made here with every value escaped. Phone first (one column, buttons at least 44 px), the
stylesheet and script served from ratings/static/, nothing inline, so the page's CSP allows only us."""
from __future__ import annotations

import io
from html import escape

import segno

from ratings.counters import WindowView
from ratings.levels import LABELS, Level
from ratings.reasons import REASONS

STYLE = "/ratings/static/counter.css"
SCRIPT = "/ratings/static/counter.js"


def _head(title: str) -> str:
    return (
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"referrer\" content=\"no-referrer\">"
        f"<title>{escape(title)}</title><link rel=\"stylesheet\" href=\"{STYLE}\"></head>"
    )


def _where(view: WindowView) -> str:
    staff = (f"<p class=\"staff\">服务人员：<span id=\"staff\">{escape(view.staff_name)}</span></p>"
             if view.staff_name else "")
    return (f"<p class=\"where\"><span id=\"office\">{escape(view.office_name)}</span>"
            f"<span id=\"window\">{escape(view.window.window)}号窗口</span></p>{staff}")


def page(*, centre: str, view: WindowView, visit: str) -> str:
    """Five levels, best first; reasons after a bad one; an optional comment; one submit."""
    levels = "".join(
        f"<button type=\"button\" class=\"level level-{int(level)}\" data-level=\"{int(level)}\""
        f" aria-pressed=\"false\">{escape(LABELS[level])}</button>"
        for level in sorted(Level, reverse=True)
    )
    reasons = "".join(
        f"<label class=\"reason\"><input type=\"checkbox\" name=\"reason\" value=\"{escape(r)}\">"
        f"<span>{escape(r)}</span></label>" for r in REASONS
    )
    return (
        f"{_head('服务评价')}<body data-code=\"ok\"><main id=\"rate\" class=\"card\" data-visit=\"{escape(visit)}\">"
        f"<header><p class=\"centre\">{escape(centre)}</p><h1>请为本次服务评价</h1>{_where(view)}</header>"
        f"<div class=\"levels\" role=\"group\" aria-label=\"评价等级\">{levels}</div>"
        "<fieldset id=\"reasons\" hidden><legend>请选择不满意的原因（可多选）</legend>"
        f"<div class=\"reason-list\">{reasons}</div></fieldset>"
        "<div id=\"more\" hidden><label for=\"comment\">意见或建议（选填）</label>"
        "<textarea id=\"comment\" maxlength=\"500\" rows=\"3\"></textarea>"
        "<button type=\"button\" id=\"submit\" class=\"submit\">提交评价</button></div>"
        "<p id=\"error\" class=\"error\" role=\"alert\" hidden></p></main>"
        "<section id=\"thanks\" class=\"card thanks\" hidden><h1>感谢您的评价</h1>"
        "<p id=\"thanks-text\">您的意见我们已经收到。</p></section>"
        f"<script src=\"{SCRIPT}\"></script></body></html>"
    )


def refusal(*, centre: str, code: str, title: str, message: str) -> str:
    """A code that cannot be used: why, in Chinese, and nothing about the window's staff."""
    return (
        f"{_head(title)}<body data-code=\"{escape(code)}\"><main class=\"card refusal\">"
        f"<p class=\"centre\">{escape(centre)}</p><h1>{escape(title)}</h1><p>{escape(message)}</p>"
        "</main></body></html>"
    )


def qr_svg(url: str, *, scale: int = 8) -> str:
    """The QR code of `url` as SVG (error correction M: a printed sheet may be scuffed)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=scale, border=4, xmldecl=False, title="服务评价二维码")
    return buffer.getvalue().decode()


def _unreachable(url: str) -> str:
    """A code without the public address cannot be opened on a phone: say so on the sheet, not in print."""
    if not url.startswith("/"):
        return ""
    return ("<p class=\"warning\" role=\"alert\">未配置 PUBLIC_BASE_URL（市民手机能访问的服务地址），"
            "这个二维码在手机上打不开，请配置后重新打印。</p>")


def print_sheet(*, centre: str, view: WindowView, url: str) -> str:
    """One A4 sheet for the window: the centre, the window, who serves there and the code to scan."""
    return (
        f"{_head(view.title + ' · 评价二维码')}<body class=\"print\"><main class=\"sheet\">"
        f"<p class=\"centre\">{escape(centre)}</p><h1>请您为我们的服务评价</h1>{_where(view)}"
        f"<div class=\"qr\">{qr_svg(url)}</div>{_unreachable(url)}"
        "<p class=\"hint\">用手机扫描二维码，选择 非常满意 · 满意 · 基本满意 · 不满意 · 非常不满意</p>"
        "</main></body></html>"
    )
