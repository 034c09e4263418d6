"""The refresh writes only the rows that changed (tables.replace_rows): after any change of its inputs,
what it holds must be exactly what a snapshot from scratch holds. Each test works in one transaction
of the session's dashboard (SQLite and PostgreSQL) and rolls it back, so the other tests see nothing."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, func, select, update

from condainfra.dashboard import quetz_adapter as quetz
from condainfra.dashboard import tables
from condainfra.dashboard.snapshot import refresh_packages

from .conftest import CHANNEL


def _rows(db, table) -> list[tuple]:
    return sorted(tuple(r) for r in db.connection().execute(select(table.__table__)))


def _states(db) -> dict[str, dict]:
    return {r["package"]: dict(r) for r in db.connection().execute(select(tables.PackageState.__table__)).mappings()}


def test_an_incremental_snapshot_equals_one_from_scratch(dashboard):
    now = datetime.now(timezone.utc)
    with quetz.session_for(dashboard.deployment.path) as db:
        settings = quetz.settings()
        try:
            refresh_packages(db, settings, now)  # what the other tests did since the last refresh is taken in first
            before = _states(db)
            assert {"libfoo", "barpy", "bazlib"} <= before.keys()
            V = quetz.PackageVersion
            libfoo_files = db.scalar(select(func.count()).select_from(V).where(V.channel_name == CHANNEL, V.package_name == "libfoo"))
            assert libfoo_files >= 2
            # the inputs change: barpy's versions are gone, libfoo is downloaded more, bazlib's update fails,
            # and a package that no longer exists still has a state
            db.execute(delete(V).where(V.channel_name == CHANNEL, V.package_name == "barpy"))
            db.execute(update(V).where(V.channel_name == CHANNEL, V.package_name == "libfoo").values(download_count=V.download_count + 1000))
            db.add(tables.BotSignal(feedstock="bazlib", kind="version-error", attempts=3.0, url=None, detail="it failed"))
            db.add(tables.PackageState(channel=CHANNEL, package="gone-pkg", downloads_total=1, downloads_30d=0, score=9.0, kinds="stale"))
            db.flush()

            refresh_packages(db, settings, now)
            incremental = _rows(db, tables.PackageState)
            after = _states(db)
            assert "gone-pkg" not in after
            assert after["barpy"]["latest_version"] is None and before["barpy"]["latest_version"] == "0.5"
            assert after["libfoo"]["downloads_total"] == before["libfoo"]["downloads_total"] + 1000 * libfoo_files
            assert "version-update-failed" in after["bazlib"]["kinds"].split() and after["bazlib"]["score"] > before["bazlib"]["score"]

            db.execute(delete(tables.PackageState))
            refresh_packages(db, settings, now)
            assert _rows(db, tables.PackageState) == incremental
        finally:
            db.rollback()


def test_replace_rows_writes_only_the_difference(dashboard):
    with quetz.session_for(dashboard.deployment.path) as db:
        try:
            rows = list(_states(db).values())
            assert len(rows) >= 3
            assert tables.replace_rows(db, tables.PackageState, rows) == 0
            first, second, *rest = sorted(rows, key=lambda r: r["package"])
            changed = first | {"score": first["score"] + 1, "kinds": "drift"}
            added = {"channel": CHANNEL, "package": "new-pkg", "latest_version": "1.0"}  # the other columns take their defaults
            assert tables.replace_rows(db, tables.PackageState, [changed, *rest, added]) == 3  # one updated, one deleted, one inserted
            now = _states(db)
            assert now[first["package"]] == changed and second["package"] not in now
            assert now["new-pkg"]["downloads_total"] == 0 and now["new-pkg"]["kinds"] == "" and now["new-pkg"]["last_upload"] is None
            assert {p: r for p, r in now.items() if p not in (first["package"], "new-pkg")} == {r["package"]: r for r in rest}
        finally:
            db.rollback()
