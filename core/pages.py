"""The security headers of every HTML page the service serves (chat page, 我的待办, link page, consoles).

Every text on these pages comes from citizens, colleagues or the centre's data, so each page takes
scripts and styles only from us (no inline code, nothing from elsewhere), may not be framed, is not
sniffed into another type, and sends no Referer (a link page's token must never travel in one).
Only what differs between pages is a parameter.
"""

from __future__ import annotations


def page_headers(*, cache: str = "no-cache", form_action: bool = True, media: str | None = None) -> dict[str, str]:
    """Headers for one kind of page.

    `cache`: its Cache-Control ("no-store" for a page with one person's data on it).
    `form_action`: False where a form's answer legitimately leaves the site (the link page's 去办理 is
    answered with a 303 to the business system, which `form-action 'self'` would block).
    `media`: the media-src sources, for a page that plays audio (the chat page's voice button).
    """
    directives = [
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        # 'self' covers the page's own WebSocket (ws:/wss: on the same host) in CSP Level 3 browsers.
        "connect-src 'self'",
    ]
    if media is not None:
        directives.append(f"media-src {media}")
    directives += ["frame-ancestors 'none'", "base-uri 'none'"]
    if form_action:
        directives.append("form-action 'self'")
    return {
        "Cache-Control": cache,
        "Content-Security-Policy": "; ".join(directives),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    }
