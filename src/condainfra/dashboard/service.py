"""Assemble what a page shows from Quetz's tables and the plugin's own, in a fixed number of
queries whatever the number of packages (no query per package)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import quetz_adapter as quetz
from . import tables
from .attention import attention_items, rank
from .settings import DashboardSettings
from .views import (
    AttentionItem, BotView, DriftView, MaintainerSummary, MaintainerView, MigrationView, MirrorView, Overview,
    PackageView, SubdirVersion, VersionErrorView,
)

OVERVIEW_LIMIT = 500


def package_link(channel: str, name: str) -> str:
    return f"/dashboard/packages/{quote(channel, safe='')}/{quote(name, safe='')}"


def feedstock_url(org: str | None, feedstock: str | None) -> str | None:
    return f"https://github.com/{quote(org, safe='')}/{quote(feedstock, safe='')}-feedstock" if org and feedstock else None


class Access:
    """What the viewer may read: public channels, and the private ones Quetz's roles open to them."""

    def __init__(self, db: Session, auth):
        self.channels, self.packages, self.everything = quetz.private_channel_access(db, auth)

    def readable(self, channel: str, package: str, private: bool) -> bool:
        return not private or self.everything or channel in self.channels or (channel, package) in self.packages


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def build_packages(db: Session, access: Access, settings: DashboardSettings, wanted: dict[tuple[str, str], set[str]], now: datetime) -> list[PackageView]:
    """PackageViews for ``wanted`` ((channel, package) -> roles), each query covering every package."""
    names = {n for _, n in wanted}
    channels = {c for c, _ in wanted}
    private = {name: bool(p) for name, p in db.query(quetz.Channel.name, quetz.Channel.private).filter(quetz.Channel.name.in_(channels))}
    existing = {(c, n) for c, n in db.query(quetz.Package.channel_name, quetz.Package.name).filter(quetz.Package.name.in_(names), quetz.Package.channel_name.in_(channels))}
    pairs = [(c, n) for (c, n) in sorted(wanted) if access.readable(c, n, private.get(c, False))]
    if not pairs:
        return []

    versions: dict[tuple[str, str], list] = defaultdict(list)
    V = quetz.PackageVersion
    # plain rows, not ORM objects, and no per-row timestamps (parsing them is most of the cost):
    # a busy maintainer has tens of thousands of versions
    for row in db.execute(select(V.channel_name, V.package_name, V.platform, V.version, V.build_number, V.download_count).where(
        V.package_name.in_(names), V.channel_name.in_(channels)
    )):
        versions[(row[0], row[1])].append(row)
    uploaded: dict[tuple[str, str], dict[str, datetime]] = defaultdict(dict)
    for channel, package, platform, last in db.execute(
        select(V.channel_name, V.package_name, V.platform, func.max(V.time_created)).where(V.package_name.in_(names), V.channel_name.in_(channels))
        .group_by(V.channel_name, V.package_name, V.platform)
    ):
        uploaded[(channel, package)][platform] = last

    M = quetz.PackageVersionMetric
    since = (now - timedelta(days=30)).replace(tzinfo=None)
    recent = defaultdict(int)
    for channel, package, count in (
        db.query(V.channel_name, V.package_name, func.sum(M.count))
        .join(V, (V.channel_name == M.channel_name) & (V.filename == M.filename) & (V.platform == M.platform))
        .filter(M.metric_name == "download", M.period == quetz.IntervalType.day, M.timestamp >= since, V.package_name.in_(names), V.channel_name.in_(channels))
        .group_by(V.channel_name, V.package_name)
    ):
        recent[(channel, package)] = int(count or 0)

    owners = {p: (o, f) for p, o, f in db.query(tables.FeedstockOutput.package, tables.FeedstockOutput.org, tables.FeedstockOutput.feedstock).filter(tables.FeedstockOutput.package.in_(names))}
    feedstocks = {f for _, f in owners.values()}
    stacks = {(o, n): s for o, n, s in db.query(tables.Feedstock.org, tables.Feedstock.name, tables.Feedstock.stack).filter(tables.Feedstock.name.in_(feedstocks))}
    signals = defaultdict(list)
    for s in db.query(tables.BotSignal).filter(tables.BotSignal.feedstock.in_(feedstocks)):
        signals[s.feedstock].append(s)
    mirror = defaultdict(dict)
    if settings.mirror_url:
        for subdir, package, version, number in db.query(tables.MirrorLatest.subdir, tables.MirrorLatest.package, tables.MirrorLatest.version, tables.MirrorLatest.build_number).filter(tables.MirrorLatest.package.in_(names)):
            mirror[package][subdir] = (version, number)
    drift = {d.stack: d for d in db.query(tables.StackDrift).filter(tables.StackDrift.stack.in_(set(stacks.values())))}

    views = []
    for channel, name in pairs:
        org, feedstock = owners.get(name, (None, None))
        view = PackageView(channel=channel, name=name, feedstock=feedstock, org=org, feedstock_url=feedstock_url(org, feedstock),
                           roles=sorted(wanted[(channel, name)]), in_channel=(channel, name) in existing)
        _versions(view, versions.get((channel, name), []), uploaded.get((channel, name), {}), now)
        view.downloads_30d = recent.get((channel, name), 0)
        view.bot = _bot(signals.get(feedstock, []), settings)
        if settings.mirror_url and view.subdirs and channel == settings.channel:
            have = mirror.get(name, {})
            # the newest build, rebuilds of a version included, is what the mirror must hold
            behind = [s.subdir for s in view.subdirs if have.get(s.subdir) is None or quetz.newer_build((s.version, s.build_number), have[s.subdir])]
            view.mirror = MirrorView(caught_up=not behind, behind=behind)
        stack = stacks.get((org, feedstock))
        if stack in drift:
            d = drift[stack]
            touched = any(drift_names_feedstock(n, feedstock) for n in json.loads(d.names))
            view.drift = DriftView(stack=stack, changes=d.creates + d.updates + d.deletes, touches_feedstock=touched)
        views.append(view)
    return views


def drift_names_feedstock(name: str, feedstock: str) -> bool:
    """Whether a drifted resource is the feedstock's: they are named `<f>`, `<f>-feedstock` and
    `<f>-feedstock/<team>` (compiler/github.py); `python-dateutil-feedstock` is not `python`'s."""
    return name in (feedstock, f"{feedstock}-feedstock") or name.startswith(f"{feedstock}-feedstock/")


def _versions(view: PackageView, rows: list, uploaded: dict[str, datetime], now: datetime) -> None:
    newest: dict[str, tuple[str, int]] = {}
    total = 0
    for _, _, platform, version, number, downloads in rows:
        total += downloads or 0
        build = (version, number or 0)
        current = newest.get(platform)
        if current is None or quetz.newer_build(build, current):
            newest[platform] = build
    view.downloads_total = total
    if not newest:
        return
    top = None
    for version, _ in newest.values():
        if top is None or quetz.newer(version, top):
            top = version
    view.latest_version = top
    for subdir in sorted(newest):
        version, number = newest[subdir]
        # a subdir lags when its newest *version* is older: rebuilds for one platform are normal
        lagging = quetz.newer(top, version)
        # built from rows already typed by the database: construct without validating again (a page has thousands)
        view.subdirs.append(SubdirVersion.model_construct(subdir=subdir, version=version, build_number=number, uploaded=_aware(uploaded.get(subdir)), lagging=lagging))
        if lagging:
            view.lagging_subdirs.append(subdir)
    times = [t for t in uploaded.values() if t is not None]
    view.last_upload = _aware(max(times)) if times else None
    if view.last_upload is not None:
        view.days_since_upload = max(0, (now - view.last_upload).days)


def _excerpt(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit].rstrip() + "…", True)


def _bot(signals: list, settings: DashboardSettings) -> BotView:
    bot = BotView()
    for s in signals:
        if s.kind == "version-error":
            excerpt, cut = _excerpt(s.detail, settings.error_excerpt)
            bot.version_error = VersionErrorView(attempts=s.attempts, excerpt=excerpt, truncated=cut, job_url=s.url)
        elif s.kind == "version-queued":
            bot.queued_version = s.detail
        elif s.kind == "migration":
            error, _ = _excerpt(s.detail, settings.error_excerpt)
            bot.migrations.append(MigrationView(migration=s.migration, state=s.state, descendants=s.descendants, pr_url=s.url, error=error))
    bot.migrations.sort(key=lambda m: (-m.descendants, m.migration))
    return bot


def feedstock_outputs(db: Session, feedstocks: set[str] | None = None) -> dict[tuple[str, str], list[str]]:
    """(org, feedstock) -> the packages it builds, as the last refresh recorded them."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    query = db.query(tables.FeedstockOutput.org, tables.FeedstockOutput.feedstock, tables.FeedstockOutput.package)
    if feedstocks is not None:
        query = query.filter(tables.FeedstockOutput.feedstock.in_(feedstocks))
    for org, feedstock, package in query.order_by(tables.FeedstockOutput.package):
        out[(org, feedstock)].append(package)
    return out


def stale_sources(db: Session) -> dict[str, list[str]]:
    return {r.source: json.loads(r.problems) for r in db.query(tables.RefreshRun) if r.problems != "[]"}


def maintainer_view(db: Session, auth, settings: DashboardSettings, login: str) -> MaintainerView | None:
    key = login.lower()
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    U, PM = quetz.User, quetz.PackageMember
    known_user = False
    for channel, package, role in db.query(PM.channel_name, PM.package_name, PM.role).join(U, U.id == PM.user_id).filter(func.lower(U.username) == key):
        wanted[(channel, package)].add(role)
        known_user = True
    rows = db.query(tables.FeedstockMaintainer.org, tables.FeedstockMaintainer.feedstock, tables.FeedstockMaintainer.via_team).filter(tables.FeedstockMaintainer.login == key).all()
    if rows:
        outputs = feedstock_outputs(db, {f for _, f, _ in rows})
        for org, feedstock, via in rows:
            for package in outputs.get((org, feedstock), []):
                wanted[(settings.channel, package)].add(via or "feedstock maintainer")
    if not wanted and not known_user and quetz.user_id_of(db, login) is None:
        return None
    now = datetime.now(timezone.utc)
    packages = build_packages(db, Access(db, auth), settings, wanted, now) if wanted else []
    items: list[AttentionItem] = []
    for p in packages:
        items += attention_items(p, package_link(p.channel, p.name))
    return MaintainerView(login=login, generated_at=now, packages=packages, attention=rank(items), stale_sources=sorted(stale_sources(db)))


def package_view(db: Session, auth, settings: DashboardSettings, channel: str, name: str) -> PackageView | None:
    views = build_packages(db, Access(db, auth), settings, {(channel, name): set()}, datetime.now(timezone.utc))
    # a declared feedstock's package not uploaded yet is shown, in the feedstocks' channel only
    if not views or not (views[0].in_channel or (views[0].feedstock and channel == settings.channel)):
        return None
    return views[0]


def package_attention(view: PackageView) -> list[AttentionItem]:
    return rank(attention_items(view, package_link(view.channel, view.name)))


def overview(db: Session, settings: DashboardSettings, query: str = "", details: bool = False) -> Overview:
    """Maintainers known from the config and from Quetz's package roles; logins are public on GitHub."""
    counts: dict[str, set] = defaultdict(set)
    for login, feedstock in db.query(tables.FeedstockMaintainer.login, tables.FeedstockMaintainer.feedstock):
        counts[login].add((settings.channel, feedstock))
    U, PM, C = quetz.User, quetz.PackageMember, quetz.Channel
    # only roles in public channels: the overview is public, and a private channel's members are not
    for login, channel, package in db.query(U.username, PM.channel_name, PM.package_name).join(PM, PM.user_id == U.id).join(C, C.name == PM.channel_name).filter(C.private.isnot(True)):
        counts[login.lower()].add((channel, package))
    needle = query.strip().lower()
    matching = sorted(login for login in counts if needle in login)
    return Overview(query=query, total=len(matching), maintainers=[MaintainerSummary(login=l, packages=len(counts[l])) for l in matching[:OVERVIEW_LIMIT]],
                    sources=source_problems(db, details))


def source_problems(db: Session, details: bool) -> dict[str, list[str]]:
    """The last refresh's problems per source. Their text names server paths and source locations:
    only server owners and maintainers see it; everyone else sees how many there are."""
    problems = stale_sources(db)
    if details:
        return problems
    return {source: [f"{len(found)} problem(s); details in the server log"] for source, found in problems.items()}
