"""The last step of a refresh: every package's state and attention items, computed once for the
whole channel and written to the plugin's tables, so that a page sorts, filters, pages and counts
with a few small reads instead of reading a maintainer's every version at request time.

Attention items keep their history: when a refresh first saw an item, when its reason last
changed, and when it ended. An ended item stays (as resolved) for ``RESOLVED_DAYS``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, case, delete, func, select, update
from sqlalchemy.orm import Session

from . import quetz_adapter as quetz
from . import tables
from .attention import attention_items
from .orgview import role_holders
from .service import EVERYONE, build_packages, package_link
from .settings import DashboardSettings

RESOLVED_DAYS = 7
BUSIEST = 20
MIGRATION_COLUMNS = {"done": "done", "in-pr": "in_pr", "awaiting-pr": "awaiting_pr", "awaiting-parents": "awaiting_parents",
                     "bot-error": "failed", "not-solvable": "failed"}


def record_migration_progress(db: Session, migrations: dict[str, list]) -> None:
    """Per migration, how many feedstocks are in each state (``done`` included, which the signals skip)."""
    progress: dict[str, dict[str, int]] = {}
    for states in migrations.values():
        for m in states:
            row = progress.setdefault(m.migration, dict.fromkeys(("total", *set(MIGRATION_COLUMNS.values())), 0))
            row["total"] += 1
            row[MIGRATION_COLUMNS[m.state]] += 1
    tables.replace_rows(db, tables.MigrationProgress, [{"migration": name, **counts} for name, counts in progress.items()])


def _every_package(db: Session, settings: DashboardSettings) -> dict[tuple[str, str], set[str]]:
    wanted: dict[tuple[str, str], set[str]] = {(c, n): set() for c, n in db.execute(select(quetz.Package.channel_name, quetz.Package.name))}
    for (package,) in db.execute(select(tables.FeedstockOutput.package)):
        wanted.setdefault((settings.channel, package), set())
    return wanted


def refresh_packages(db: Session, settings: DashboardSettings, now: datetime | None = None) -> int:
    """Recompute every package's state and attention items; returns the number of packages."""
    now = now or datetime.now(timezone.utc)
    naive = now.replace(tzinfo=None)
    wanted = _every_package(db, settings)
    views = build_packages(db, EVERYONE, settings, wanted, now, every=True)
    states, items = [], {}
    for view in views:
        found = attention_items(view, package_link(view.channel, view.name))
        for item in found:
            items[(item.channel, item.package, item.kind, item.subject)] = item
        states.append({
            "channel": view.channel, "package": view.name, "feedstock": view.feedstock, "latest_version": view.latest_version,
            "upstream_version": view.upstream_version, "downloads_total": view.downloads_total, "downloads_30d": view.downloads_30d,
            "last_upload": view.last_upload.replace(tzinfo=None) if view.last_upload else None,
            "score": max((i.score for i in found), default=0.0), "kinds": " ".join(sorted({i.kind for i in found})),
        })
    tables.replace_rows(db, tables.PackageState, states)
    _record_history(db, items, naive)
    db.execute(delete(tables.Snooze).where(tables.Snooze.until < naive))
    _record_summary(db, settings, len(views))
    return len(views)


def _record_history(db: Session, items: dict, now: datetime) -> None:
    A = tables.AttentionRecord
    known = {(r.channel, r.package, r.kind, r.subject): r for r in db.execute(select(A.channel, A.package, A.kind, A.subject, A.reason, A.score, A.link, A.resolved_at))}
    new, changed, ended = [], [], []
    for key, item in items.items():
        row = {"channel": item.channel, "package": item.package, "kind": item.kind, "subject": item.subject, "reason": item.reason, "score": item.score,
               "link": item.link}
        old = known.get(key)
        if old is None:
            new.append(row | {"first_seen": now, "changed_at": now, "resolved_at": None})
        elif old.resolved_at is not None:  # it came back: a new episode
            changed.append(row | {"first_seen": now, "changed_at": now})
        elif (old.reason, old.score, old.link) != (item.reason, item.score, item.link):
            changed.append(row | {"first_seen": None, "changed_at": now})
    for key, old in known.items():
        if key not in items and old.resolved_at is None:
            ended.append(dict(zip(("channel", "package", "kind", "subject"), key)))
    if new:
        db.execute(A.__table__.insert(), new)
    keys = (A.channel == bindparam("k_channel")) & (A.package == bindparam("k_package")) & (A.kind == bindparam("k_kind")) & (A.subject == bindparam("k_subject"))

    def keyed(rows):
        return [{f"k_{k}": r[k] for k in ("channel", "package", "kind", "subject")} | {k: v for k, v in r.items() if k not in ("channel", "package", "kind", "subject")}
                for r in rows]

    reopened = [r for r in changed if r["first_seen"] is not None]
    updated = [{k: v for k, v in r.items() if k != "first_seen"} for r in changed if r["first_seen"] is None]
    conn = db.connection()
    if reopened:
        conn.execute(update(A).where(keys).values(reason=bindparam("reason"), score=bindparam("score"), link=bindparam("link"), first_seen=bindparam("first_seen"),
                                                  changed_at=bindparam("changed_at"), resolved_at=None), keyed(reopened))
    if updated:
        conn.execute(update(A).where(keys).values(reason=bindparam("reason"), score=bindparam("score"), link=bindparam("link"), changed_at=bindparam("changed_at")),
                     keyed(updated))
    if ended:
        conn.execute(update(A).where(keys).values(resolved_at=now), keyed(ended))
    db.execute(delete(A).where(A.resolved_at < now - timedelta(days=RESOLVED_DAYS)))


def _record_summary(db: Session, settings: DashboardSettings, packages: int) -> None:
    A, C = tables.AttentionRecord, quetz.Channel
    public = select(C.name).where(C.private.isnot(True))
    by_kind = dict(db.execute(select(A.kind, func.count()).where(A.resolved_at.is_(None), A.channel.in_(public)).group_by(A.kind)).all())
    logins = {login for (login,) in db.execute(select(tables.FeedstockMaintainer.login).distinct())}
    logins |= {login for (login, _, _) in db.execute(role_holders())}
    counts = {"maintainers": len(logins), "packages": packages, "feedstocks": db.scalar(select(func.count()).select_from(tables.Feedstock)) or 0}
    db.merge(tables.Summary(name="overview", value=json.dumps({"counts": counts, "attention_by_kind": by_kind, "busiest": _busiest(db, settings)})))


def _busiest(db: Session, settings: DashboardSettings) -> list[list]:
    """The declared maintainers with the most packages needing attention: [login, those, all]."""
    FM, FO, S = tables.FeedstockMaintainer, tables.FeedstockOutput, tables.PackageState
    needing = func.sum(case((S.score > 0, 1), else_=0))
    rows = db.execute(
        select(FM.login, needing, func.count()).join(FO, (FO.org == FM.org) & (FO.feedstock == FM.feedstock))
        .join(S, (S.channel == settings.channel) & (S.package == FO.package)).group_by(FM.login).order_by(needing.desc(), FM.login).limit(BUSIEST)
    )
    return [[login, int(n or 0), int(total)] for login, n, total in rows if n]
