"""Outreach's routes, one module per resource; `ROUTERS` is what the app includes."""
from fastapi import APIRouter

from outreach.routes import cards, completions, funnel, segments

ROUTERS: list[APIRouter] = [completions.router, funnel.router, cards.router, segments.router]
