"""Live events of the agent side, on the service's bus (Redis between instances).

The database is the record; an event only tells consoles what changed so they need not poll.
- `console:pool`: a conversation or callback ticket entered or left the pool (every console).
- `console:agent:<id>`: something for one agent (work pushed or transferred to them, duty changes).
- `console:supervisors`: alerts (a conversation nobody grabbed) and figures worth refreshing.
- `conversation:<id>` (the hub's topic): `claimed`, for channels that connect the citizen to the agent.
"""
from __future__ import annotations

POOL = "console:pool"
SUPERVISORS = "console:supervisors"


def agent_topic(agent_id: int) -> str:
    return f"console:agent:{agent_id}"
