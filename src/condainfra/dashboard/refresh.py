"""The refresh job: read every outside source and replace the plugin's tables with what it says.

A source that cannot be read keeps its previous rows (stale beats empty) and records its
problem, which the overview shows. Each problem is logged once per refresh. Each source fails
alone: whatever goes wrong in one step (a limit of the fetch policy tripped, a redirect loop, a bug)
is that source's problem, and the next sources are still refreshed. One refresh reads under one
fetch policy (``sources.fetch.refresh_policy``: the defaults, a 10-minute run, then the deployment's
``limits`` setting and ``dashboard refresh --limit``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from sqlalchemy.orm import Session

from .. import jsondoc
from ..errors import CondainfraError
from ..fetch import FetchPolicy
from . import quetz_adapter as quetz
from . import tables
from .settings import DashboardSettings, channel_org
from .sources.botstatus import load_bot_status
from .sources.drift import load_drift
from .sources.fetch import SourceUnavailable, read, refresh_policy
from .sources.mirrorstate import load_mirror_state
from .sources.orgconfig import load_org_people
from ..config.models import FEEDSTOCK_NAME as PACKAGE_NAME  # conda package names; feedstocks follow the same rule
from .snapshot import record_migration_progress, refresh_packages
from .sources.github_activity import refresh_activity

log = logging.getLogger("condainfra.dashboard")


@dataclass
class RefreshReport:
    counts: dict[str, int] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    # the limits this refresh reads under, shared by its sources so that its deadline is the refresh's
    policy: FetchPolicy = field(default_factory=refresh_policy, repr=False)

    def summary(self) -> str:
        parts = [f"{n} {what}" for what, n in self.counts.items()]
        bad = sum(len(p) for p in self.problems.values())
        return "refreshed: " + ", ".join(parts) + (f"; {bad} problem(s)" if bad else "")


def _record(db: Session, report: RefreshReport, source: str, problems: list[str]) -> None:
    """Keep the source's problems for the pages; log each one once, when it first appears,
    not again at every periodic refresh while it lasts."""
    report.problems[source] = problems
    row = db.get(tables.RefreshRun, source) or tables.RefreshRun(source=source, problems="[]")
    known = set(json.loads(row.problems or "[]"))
    for problem in problems:
        if problem not in known:
            log.warning("dashboard refresh: %s", problem)
    row.refreshed_at = quetz.utcnow()
    row.problems = json.dumps(problems[:50])
    db.merge(row)


def _outputs(location: str, problems: list[str], policy: FetchPolicy | None = None) -> dict[str, list[str]]:
    """feedstock -> the packages it builds, from feedstock_outputs.json (output -> [feedstocks])."""
    if not location:
        return {}
    try:
        raw = read(location, policy=policy)
        data = jsondoc.loads(raw, location) if raw is not None else None
    except (SourceUnavailable, jsondoc.JsonDocumentError) as exc:
        problems.append(f"feedstock outputs {location}: {exc}")
        return {}
    if not isinstance(data, dict):
        problems.append(f"feedstock outputs {location}: expected an object of output -> feedstocks")
        return {}
    out: dict[str, list[str]] = {}
    for output, feedstocks in data.items():
        for feedstock in feedstocks if isinstance(feedstocks, list) else [feedstocks]:
            if isinstance(feedstock, str) and isinstance(output, str) and PACKAGE_NAME.fullmatch(output) and PACKAGE_NAME.fullmatch(feedstock):
                out.setdefault(feedstock, []).append(output)
            elif len(problems) < 50:  # names become links: a path like ../../api/x never does
                problems.append(f"feedstock outputs {location}: {str(output)[:100]!r} -> {str(feedstock)[:100]!r}: not a package name")
    return out


def refresh_config(db: Session, settings: DashboardSettings, report: RefreshReport) -> None:
    problems: list[str] = []
    if not settings.project_root:
        _record(db, report, "config", ["no project_root configured: feedstock maintainers are unknown"])
        return
    people = load_org_people(Path(settings.project_root))
    problems += people.problems
    org = channel_org(settings)
    if org not in people.owners and people.owners:
        problems.append(f"org {org!r} is not declared in {settings.project_root}/stacks; set `org` in [condainfra_dashboard]")
    # only the org that publishes to the channel: another org's feedstock of the same name is another package
    people.feedstocks = {key: f for key, f in people.feedstocks.items() if key[0] == org}
    outputs = _outputs(settings.feedstock_outputs, problems, report.policy)
    if not people.feedstocks and people.problems:
        _record(db, report, "config", problems)
        return
    claimed: set[str] = set()
    # plain rows, and only the changed ones written: conda-forge has ~29,000 feedstocks and ~70,000
    # maintainer rows, which as ORM objects took most of a refresh
    rows: dict[type, list[dict]] = {tables.Feedstock: [], tables.FeedstockOutput: [], tables.FeedstockMaintainer: []}
    for (org, name), feedstock in people.feedstocks.items():
        packages = sorted(outputs.get(name, [name]))
        rows[tables.Feedstock].append({"org": org, "name": name, "stack": feedstock.stack, "archived": feedstock.archived})
        for package in packages:
            if package not in claimed:  # two feedstocks claiming one output: the first keeps it
                claimed.add(package)
                rows[tables.FeedstockOutput].append({"package": package, "org": org, "feedstock": name})
        for login, via in feedstock.maintainers.items():
            rows[tables.FeedstockMaintainer].append({"org": org, "feedstock": name, "login": login, "via_team": via})
    for table, values in rows.items():
        tables.replace_rows(db, table, values)
    report.counts["feedstocks"] = len(people.feedstocks)
    _record(db, report, "config", problems)


def refresh_bot(db: Session, settings: DashboardSettings, report: RefreshReport) -> None:
    if not settings.bot_status:
        return
    status = load_bot_status(settings.bot_status, report.policy)
    if status.problems and not (status.version_errors or status.queued or status.migrations):
        _record(db, report, "bot", status.problems)
        return
    blank = {"migration": "", "state": "", "descendants": 0, "attempts": 0.0, "url": None, "detail": ""}
    signals = [blank | {"feedstock": name, "kind": "version-error", "attempts": error.attempts, "url": error.job_url, "detail": error.text}
               for name, error in status.version_errors.items()]
    signals += [blank | {"feedstock": name, "kind": "version-queued", "detail": version} for name, version in status.queued.items()]
    count = 0
    for name, states in status.migrations.items():
        for m in states:
            if m.state == "done":
                continue
            count += 1
            signals.append({"feedstock": name, "kind": "migration", "migration": m.migration, "state": m.state, "descendants": m.descendants,
                            "url": m.pr_url, "detail": m.error, "attempts": 0.0})
    # no key of their own (a feedstock may have several of a kind): rewritten all at once, only when changed
    tables.replace_all_if_changed(db, tables.BotSignal, signals)
    record_migration_progress(db, status.migrations)
    report.counts["bot signals"] = len(status.version_errors) + len(status.queued) + count
    _record(db, report, "bot", status.problems)


def refresh_mirror(db: Session, settings: DashboardSettings, report: RefreshReport) -> None:
    if not settings.mirror_url:
        return
    state = load_mirror_state(settings.mirror_url, quetz.newer_build, report.policy)
    if state.problems and not state.latest:
        _record(db, report, "mirror", state.problems)
        return
    db.query(tables.MirrorLatest).delete()
    for (subdir, package), (version, number) in state.latest.items():
        db.add(tables.MirrorLatest(subdir=subdir, package=package, version=version, build_number=min(number, 10**9)))
    report.counts["mirrored packages"] = len(state.latest)
    _record(db, report, "mirror", state.problems)


def refresh_drift(db: Session, settings: DashboardSettings, report: RefreshReport) -> None:
    if not settings.drift_report:
        return
    drift = load_drift(settings.drift_report, report.policy)
    if drift.problems and not drift.stacks:
        _record(db, report, "drift", drift.problems)
        return
    db.query(tables.StackDrift).delete()
    for s in drift.stacks.values():
        db.add(tables.StackDrift(stack=s.stack, creates=s.creates, updates=s.updates, deletes=s.deletes, names=json.dumps(list(s.names))))
    report.counts["drift stacks"] = len(drift.stacks)
    _record(db, report, "drift", drift.problems)


def refresh_github(db: Session, settings: DashboardSettings, report: RefreshReport) -> None:
    if settings.github_requests_per_run:
        _record(db, report, "github", refresh_activity(db, settings, report.counts, report.policy))


def refresh_snapshot(db: Session, settings: DashboardSettings, report: RefreshReport) -> None:
    report.counts["packages"] = refresh_packages(db, settings)


def refresh_all(db: Session, settings: DashboardSettings, limits: Sequence[str] = ()) -> RefreshReport:
    """Every source in turn; ``limits`` (``NAME=VALUE``, as ``--limit``) apply after the deployment's own."""
    policy = refresh_policy(settings.limits).with_settings(list(limits), "--limit")
    report = RefreshReport(policy=policy)
    for step in (refresh_config, refresh_bot, refresh_mirror, refresh_drift, refresh_github, refresh_snapshot):
        source = step.__name__.removeprefix("refresh_")
        try:
            step(db, settings, report)
            db.commit()
        except CondainfraError as exc:
            db.rollback()
            _failed(db, report, source, str(exc))
        except Exception as exc:  # noqa: BLE001 (a bug in one source must not stop the others)
            db.rollback()
            log.exception("dashboard refresh: %s failed", source)
            _failed(db, report, source, f"internal error: {type(exc).__name__}: {str(exc)[:300]}")
    return report


def _failed(db: Session, report: RefreshReport, source: str, problem: str) -> None:
    """The source's rows stay as they were; its problem is recorded for the overview."""
    _record(db, report, source, [*report.problems.get(source, []), problem])
    db.commit()
