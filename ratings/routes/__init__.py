"""The ratings' routes, one module per resource; `ROUTERS` is what the app includes."""
from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
