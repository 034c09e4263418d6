"""The ``quetz.jobs`` entry point: functions Quetz's job supervisor runs periodically.
Quetz passes the resources a function names in its signature (``db``, ``config``...)."""

from __future__ import annotations

import logging

from . import quetz_adapter
from .identity import sync_users as _sync_users
from .refresh import refresh_all

log = logging.getLogger("condainfra.dashboard")


def refresh(db, config=None):
    report = refresh_all(db, quetz_adapter.settings(config))
    log.info("dashboard %s", report.summary())


def sync_users(db, config=None):
    report = _sync_users(db, quetz_adapter.settings(config))
    for line in report.lines():
        log.info("dashboard sync-users: %s", line)
