"""The overview: the org's state as the last refresh left it (attention items by kind, the migrations
with the most feedstocks still waiting, what has lagged longest, each source's health) and a
search over maintainers and packages. A summary, not a list: each section is one small query.
And a team's page: the feedstocks the team holds by declaration, with the maintainer page's table and queue."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..config.checks import team_slug
from . import quetz_adapter as quetz
from . import tables
from .attention import LAG_KINDS
from .listing import package_page
from .service import aware, feedstock_outputs
from .settings import DashboardSettings, channel_org
from .sources.orgconfig import teams_of
from .views import LaggingFeedstock, Listing, MaintainerSummary, MaintainerView, MigrationSummary, Overview, PackageHit, SourceHealth

SEARCH_LIMIT = 50
SECTION_LIMIT = 10


def _public():
    C = quetz.Channel
    return select(C.name).where(C.private.isnot(True))


def role_holders():
    """Quetz package roles in public channels, of users who are not server owners or maintainers:
    those (the admin who uploads, a bot account) hold roles on everything and maintain nothing."""
    U, PM = quetz.User, quetz.PackageMember
    return (select(func.lower(U.username).label("login"), PM.channel_name, PM.package_name).join(PM, PM.user_id == U.id)
            .where(PM.channel_name.in_(_public()), or_(U.role.is_(None), U.role.notin_(("owner", "maintainer")))))


def search_maintainers(db: Session, settings: DashboardSettings, needle: str) -> tuple[int, list[MaintainerSummary]]:
    FM, FO = tables.FeedstockMaintainer, tables.FeedstockOutput
    pattern = f"%{needle}%"
    counts: dict[str, set] = {}
    declared = select(FM.login, FO.package).join(FO, (FO.org == FM.org) & (FO.feedstock == FM.feedstock)).where(FM.login.like(pattern, escape="\\"))
    for login, package in db.execute(declared):
        counts.setdefault(login, set()).add((settings.channel, package))
    roles = role_holders().subquery()
    for login, channel, package in db.execute(select(roles).where(roles.c.login.like(pattern, escape="\\"))):
        counts.setdefault(login, set()).add((channel, package))
    logins = sorted(counts)
    return len(logins), [MaintainerSummary(login=login, packages=len(counts[login])) for login in logins[:SEARCH_LIMIT]]


def search_packages(db: Session, needle: str) -> list[PackageHit]:
    S = tables.PackageState
    rows = db.execute(select(S.channel, S.package, S.score).where(func.lower(S.package).like(f"%{needle}%", escape="\\"), S.channel.in_(_public()))
                      .order_by(func.length(S.package), S.package).limit(SEARCH_LIMIT))
    return [PackageHit(channel=c, name=n, score=s) for c, n, s in rows]


def overview(db: Session, settings: DashboardSettings, query: str = "", details: bool = False) -> Overview:
    needle = query.strip().lower()[:100].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    summary = db.get(tables.Summary, "overview")
    stored = json.loads(summary.value) if summary is not None else {}
    counts = stored.get("counts", {})
    view = Overview(query=query, total=counts.get("maintainers", 0), maintainers=[], counts=counts, attention_by_kind=stored.get("attention_by_kind", {}))
    view.busiest = [MaintainerSummary(login=login, needing_attention=n, packages=total) for login, n, total in stored.get("busiest", [])]
    if needle:
        view.total, view.maintainers = search_maintainers(db, settings, needle)
        view.packages = search_packages(db, needle)
    MP = tables.MigrationProgress
    view.migrations = [MigrationSummary(migration=m.migration, total=m.total, done=m.done, in_pr=m.in_pr, awaiting_pr=m.awaiting_pr,
                                        awaiting_parents=m.awaiting_parents, failed=m.failed)
                       for m in db.execute(select(MP).order_by(MP.awaiting_parents.desc(), MP.migration).limit(SECTION_LIMIT)).scalars()]
    A = tables.AttentionRecord
    lagging = select(A.package, A.channel, A.kind, A.reason, A.first_seen).where(A.resolved_at.is_(None), A.kind.in_(LAG_KINDS), A.channel.in_(_public()))
    view.lagging = [LaggingFeedstock(package=p, channel=c, kind=k, reason=r, since=aware(t))
                    for p, c, k, r, t in db.execute(lagging.order_by(A.first_seen, A.score.desc(), A.package).limit(SECTION_LIMIT))]
    for run in db.execute(select(tables.RefreshRun).order_by(tables.RefreshRun.source)).scalars():
        problems = json.loads(run.problems or "[]")
        shown = problems if details else ([f"{len(problems)} problem(s); details in the server log"] if problems else [])
        view.health.append(SourceHealth(source=run.source, refreshed_at=aware(run.refreshed_at), problems=shown))
        if shown:
            view.sources[run.source] = shown
    view.refreshed_at = max((h.refreshed_at for h in view.health if h.refreshed_at), default=None)
    return view


def team_view(db: Session, auth, settings: DashboardSettings, org: str, team: str, listing: Listing | None = None) -> MaintainerView | None:
    """The team's page: the packages of every feedstock the config declares the team on (listed as a
    maintainer, the feedstock's own team, a grant on its repository), whether or not anyone is listed
    in the team, and not its members' other feedstocks (their own pages have those). Also the
    feedstocks the last refresh recorded through the team, so the page never shows less than before."""
    declared = teams_of(Path(settings.project_root)).get((org.lower(), team_slug(team))) if settings.project_root else None
    if declared is not None and declared.org.lower() != channel_org(settings).lower():
        declared = None  # another org's team holds none of this channel's packages (the refresh reads the channel's org only)
    ref = f"{declared.org}/{declared.name}" if declared else f"{org}/{team}"
    FM = tables.FeedstockMaintainer
    recorded = db.execute(select(FM.org, FM.feedstock, FM.login).where(func.lower(FM.via_team) == ref.lower())).all()
    if declared is None and not recorded:
        return None
    held: dict[tuple[str, str], str] = {(o, f): ref for o, f, _ in recorded}
    held |= {(declared.org, f): how for f, how in declared.feedstocks.items()} if declared else {}
    outputs = feedstock_outputs(db, {f for _, f in held})
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for key, how in held.items():
        for package in outputs.get(key, []):
            wanted[(settings.channel, package)].add(how)
    members = sorted((declared.people if declared else set()) | {login for *_, login in recorded})
    view = package_page(db, auth, settings, ref, wanted, listing or Listing(), snoozer=None, team=True, members=members)
    view.description = declared.description if declared else ""
    return view
