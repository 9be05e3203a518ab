"""The campaign engine's routes, one module per resource; `ROUTERS` is what the app includes."""
from callout.routes import app_push, campaigns, pages, recipients, segment_campaigns, suppressions, twilio

ROUTERS = [r.router for r in (campaigns, segment_campaigns, recipients, suppressions, twilio, app_push, pages)]
