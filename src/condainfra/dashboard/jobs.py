"""The ``quetz.jobs`` entry point: functions Quetz's job supervisor runs periodically
(``condainfra_dashboard:refresh`` and ``condainfra_dashboard:sync_users``).

Quetz's worker passes the resources a function names in its signature; it offers ``dao``,
``config``, ``auth``, ``session``, ``pkgstore`` and ``user_id`` (not a bare ``db``).
"""

from __future__ import annotations

import logging

from . import quetz_adapter
from .identity import sync_users as _sync_users
from .refresh import refresh_all

log = logging.getLogger("condainfra.dashboard")


def refresh(dao, config=None):
    report = refresh_all(dao.db, quetz_adapter.settings(config))
    log.info("dashboard %s", report.summary())


def sync_users(dao, config=None):
    report = _sync_users(dao.db, quetz_adapter.settings(config))
    for problem in report.problems:  # an operator reads warnings: "0 user(s) created" alone hides why
        log.warning("dashboard sync-users: %s", problem)
    for line in report.lines():
        if not line.startswith("problem: "):
            log.info("dashboard sync-users: %s", line)
