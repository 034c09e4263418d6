"""The ``quetz`` entry point: the hooks Quetz's plugin manager calls."""

from __future__ import annotations

import gc

from . import quetz_adapter
from .quetz_adapter import hookimpl

# Quetz loads this module while importing quetz.main, before any request: the fix is in place
# for the first upload.
quetz_adapter.close_sessions_after_background_tasks()


@hookimpl
def register_router():
    from .router import make_router

    router = make_router(dev_mode=quetz_adapter.settings().dev_mode)
    # Everything imported so far (Quetz, SQLAlchemy, pydantic, FastAPI) lives as long as the server.
    # Moving it out of the collector's reach keeps the cyclic GC from rescanning it during a large
    # page, which was a third of a 500-package maintainer page's time.
    gc.freeze()
    return router
