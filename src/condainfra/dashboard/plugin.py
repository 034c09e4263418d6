"""The ``quetz`` entry point: the hooks Quetz's plugin manager calls."""

from __future__ import annotations

from . import quetz_adapter
from .quetz_adapter import hookimpl


@hookimpl
def register_router():
    from .router import make_router

    return make_router(dev_mode=quetz_adapter.settings().dev_mode)
