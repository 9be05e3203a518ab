"""The fixed reasons a citizen may give for a bad rating (analysed by reason, so never free text)."""
from __future__ import annotations

# Order is the order the buttons are shown in; 其他 last, for "none of these" (the comment then says why).
REASONS: tuple[str, ...] = ("等待时间长", "答非所问", "态度不好", "问题未解决", "流程繁琐", "其他")
