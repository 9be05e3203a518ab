"""The console's HTTP and WebSocket routes, one module per resource; `ROUTERS` is what the app includes."""
from agent_console.routes import (
    agents,
    assist,
    audit,
    auth,
    callbacks,
    conversations,
    duty,
    handoff,
    notes,
    pages,
    pool,
    socket,
    supervisor,
)

ROUTERS = [r.router for r in (auth, agents, duty, pool, conversations, callbacks, assist, supervisor, audit,
                              handoff, notes, socket, pages)]
STATIC_DIR = pages.STATIC_DIR
