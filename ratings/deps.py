"""Injected dependencies of the ratings routes."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from core.deps import ServicesDep
from ratings.context import Ratings


def get_ratings(services: ServicesDep) -> Ratings:
    return services.get(Ratings)


RatingsDep = Annotated[Ratings, Depends(get_ratings)]
