"""The campaign engine's routes, one module per resource; `ROUTERS` is what the app includes."""
from callout.routes import campaigns, pages, recipients, suppressions, twilio

ROUTERS = [r.router for r in (campaigns, recipients, suppressions, twilio, pages)]
