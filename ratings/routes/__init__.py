"""The ratings' routes, one module per resource; `ROUTERS` is what the app includes."""
from fastapi import APIRouter

from ratings.routes import analysis, cases, citizen, counter_page, counters, public, standing, wall

ROUTERS: list[APIRouter] = [analysis.router, wall.router, public.router, cases.router, counters.router, counters.pages,
                            counter_page.router, citizen.router, standing.router]
