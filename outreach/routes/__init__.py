"""Outreach's routes, one module per resource; `ROUTERS` is what the app includes."""
from fastapi import APIRouter

from outreach.routes import cards, completions, funnel, link_pages, links, segments

ROUTERS: list[APIRouter] = [completions.router, funnel.router,
                            cards.router, link_pages.router, links.router, segments.router]
