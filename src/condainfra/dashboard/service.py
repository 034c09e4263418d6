"""Build packages as pages show them, live from Quetz's tables and the plugin's own, in a fixed
number of queries whatever the number of packages (no query per package). Pages build only the
packages they show; the refresh builds every package once (``every=True``) for snapshot.py."""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import quetz_adapter as quetz
from . import tables
from .attention import attention_items, rank
from .settings import DashboardSettings
from .views import AttentionItem, BotView, DriftView, GithubView, MigrationView, MirrorView, PackageView, SubdirVersion, VersionErrorView

NOARCH = "noarch"
# the version a failed update tried, in the bot's message ("... with version '1.2.3' ..."); only a
# dotted one is taken as an upstream release (the bot's text also quotes issue numbers that way)
_TRIED_VERSION = re.compile(r"version '([0-9][A-Za-z0-9_+!-]*\.[A-Za-z0-9_.+!-]{1,80})'")


def construct(model, **values):
    """``model.model_construct(**values)``, the default factories called here. pydantic 2.14 inspects each
    factory's signature at every ``model_construct`` (``inspect.signature(list)`` parses a text signature),
    which was two thirds of a refresh: 94,000 calls at conda-forge size."""
    for name, factory in _factories(model):
        if name not in values:
            values[name] = factory()
    return model.model_construct(**values)


@functools.cache
def _factories(model) -> tuple:
    return tuple((name, field.default_factory) for name, field in model.model_fields.items() if field.default_factory is not None)


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


class _Everyone(Access):
    """The refresh's view: every channel (pages apply the viewer's access when they read its rows)."""

    def __init__(self):
        self.channels, self.packages, self.everything = set(), set(), True


EVERYONE = _Everyone()


def aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def build_packages(db: Session, access: Access, settings: DashboardSettings, wanted: dict[tuple[str, str], set[str]], now: datetime,
                   every: bool = False) -> list[PackageView]:
    """PackageViews for ``wanted`` ((channel, package) -> roles), each query covering every package.
    ``every``: ``wanted`` is the whole catalogue, so the queries read whole tables rather than long IN lists."""
    names = {n for _, n in wanted}
    channels = {c for c, _ in wanted}

    def among(column, values):
        return True if every else column.in_(values)

    private = {name: bool(p) for name, p in db.execute(select(quetz.Channel.name, quetz.Channel.private).where(among(quetz.Channel.name, channels)))}
    P = quetz.Package
    existing = set(db.execute(select(P.channel_name, P.name).where(among(P.name, names), among(P.channel_name, channels))).tuples())
    pairs = [(c, n) for (c, n) in sorted(wanted) if access.readable(c, n, private.get(c, False))]
    if not pairs:
        return []

    V = quetz.PackageVersion
    in_scope = (among(V.package_name, names), among(V.channel_name, channels))
    newest, totals = _newest_builds(db, select(V.channel_name, V.package_name, V.platform, V.version, V.build_number, V.download_count).where(*in_scope))
    uploaded: dict[tuple[str, str], dict[str, datetime]] = defaultdict(dict)
    for channel, package, platform, last in db.connection().execute(
        select(V.channel_name, V.package_name, V.platform, func.max(V.time_created)).where(*in_scope).group_by(V.channel_name, V.package_name, V.platform)
    ):
        uploaded[(channel, package)][platform] = last

    M = quetz.PackageVersionMetric
    since = (now - timedelta(days=30)).replace(tzinfo=None)
    recent = defaultdict(int)
    for channel, package, count in db.connection().execute(
        select(V.channel_name, V.package_name, func.sum(M.count))
        .join(V, (V.channel_name == M.channel_name) & (V.filename == M.filename) & (V.platform == M.platform))
        .where(M.metric_name == "download", M.period == quetz.IntervalType.day, M.timestamp >= since, *in_scope)
        .group_by(V.channel_name, V.package_name)
    ):
        recent[(channel, package)] = int(count or 0)

    FO = tables.FeedstockOutput
    owners = {p: (o, f) for p, o, f in db.execute(select(FO.package, FO.org, FO.feedstock).where(among(FO.package, names)))}
    feedstocks = {f for _, f in owners.values()}
    stacks = {(o, n): s for o, n, s in db.execute(select(tables.Feedstock.org, tables.Feedstock.name, tables.Feedstock.stack).where(among(tables.Feedstock.name, feedstocks)))}
    signals = defaultdict(list)
    B = tables.BotSignal
    for s in db.execute(select(B.feedstock, B.kind, B.migration, B.state, B.descendants, B.attempts, B.url, B.detail).where(among(B.feedstock, feedstocks))):
        signals[s.feedstock].append(s)
    G = tables.GithubActivity
    github = {(g.org, g.feedstock): GithubView.model_construct(open_prs=g.open_prs, open_issues=g.open_issues, ci_state=g.ci_state, checked_at=aware(g.checked_at))
              for g in db.execute(select(G.org, G.feedstock, G.open_prs, G.open_issues, G.ci_state, G.checked_at).where(among(G.feedstock, feedstocks)))}
    mirror = defaultdict(dict)
    if settings.mirror_url:
        ML = tables.MirrorLatest
        for subdir, package, version, number in db.execute(select(ML.subdir, ML.package, ML.version, ML.build_number).where(among(ML.package, names))):
            mirror[package][subdir] = (version, number)
    drift = {d.stack: d for d in db.execute(select(tables.StackDrift).where(among(tables.StackDrift.stack, set(stacks.values())))).scalars()}

    views = []
    for channel, name in pairs:
        org, feedstock = owners.get(name, (None, None))
        # built from rows already typed by the database: constructed without validating again (a refresh builds every package)
        view = construct(PackageView, channel=channel, name=name, feedstock=feedstock, org=org, feedstock_url=feedstock_url(org, feedstock),
                         roles=sorted(wanted[(channel, name)]), in_channel=(channel, name) in existing, bot=_bot(signals.get(feedstock, []), settings))
        view.downloads_total = totals.get((channel, name), 0)
        _versions(view, newest.get((channel, name), {}), uploaded.get((channel, name), {}), now)
        view.downloads_30d = recent.get((channel, name), 0)
        view.upstream_version = _upstream(view.bot, signals.get(feedstock, []))
        view.behind_upstream = bool(view.upstream_version and view.latest_version and quetz.newer(view.upstream_version, view.latest_version))
        if (org, feedstock) in github:
            view.github = github[(org, feedstock)]
        if settings.mirror_url and view.subdirs and channel == settings.channel:
            have = mirror.get(name, {})
            # the newest build, rebuilds of a version included, is what the mirror must hold
            behind = [s.subdir for s in view.subdirs if have.get(s.subdir) is None or quetz.newer_build((s.version, s.build_number), have[s.subdir])]
            view.mirror = MirrorView.model_construct(caught_up=not behind, behind=behind)
        stack = stacks.get((org, feedstock))
        if stack in drift:
            d = drift[stack]
            touched = any(drift_names_feedstock(n, feedstock) for n in json.loads(d.names))
            view.drift = DriftView.model_construct(stack=stack, changes=d.creates + d.updates + d.deletes, touches_feedstock=touched)
        views.append(view)
    return views


def drift_names_feedstock(name: str, feedstock: str) -> bool:
    """Whether a drifted resource is the feedstock's: they are named `<f>`, `<f>-feedstock` and
    `<f>-feedstock/<team>` (compiler/github.py); `python-dateutil-feedstock` is not `python`'s."""
    return name in (feedstock, f"{feedstock}-feedstock") or name.startswith(f"{feedstock}-feedstock/")


def _upstream(bot: BotView, signals: list) -> str | None:
    """The newest upstream version the bot knows of: the one it queued, else the one it failed to update to."""
    if bot.queued_version:
        return bot.queued_version
    for s in signals:
        if s.kind == "version-error" and (found := _TRIED_VERSION.search(s.detail or "")):
            return found.group(1)
    return None


def _lagging(newest: dict[str, tuple[str, int]], top: str) -> set[str]:
    """Subdirs whose newest version is older than the package's newest. A package that moved to
    noarch leaves its old per-platform builds behind, and one that left noarch its old noarch
    build: neither lags, only platforms of the current kind do."""
    if NOARCH in newest and newest[NOARCH][0] == top:
        return set()
    platforms = {s: v for s, (v, _) in newest.items() if s != NOARCH}
    return {s for s, version in platforms.items() if quetz.newer(top, version)}


def _newest_builds(db: Session, query) -> tuple[dict[tuple[str, str], dict[str, tuple[str, int]]], dict[tuple[str, str], int]]:
    """(channel, package) -> subdir -> its newest (version, build number), and -> its downloads, reduced
    as the rows arrive: plain Core rows, not ORM ones, and no per-row timestamps (parsing them is most
    of the cost); the refresh reads about a million."""
    newest: dict[tuple[str, str], dict[str, tuple[str, int]]] = defaultdict(dict)
    totals: dict[tuple[str, str], int] = defaultdict(int)
    newer_build = quetz.newer_build
    for rows in db.connection().execute(query).partitions(10_000):  # fetchmany: a fetch per row costs as much again
        for channel, package, platform, version, number, downloads in rows:
            key = (channel, package)
            totals[key] += downloads or 0
            build = (version, number or 0)
            subdirs = newest[key]
            current = subdirs.get(platform)
            if current is None or newer_build(build, current):
                subdirs[platform] = build
    return newest, totals


def _versions(view: PackageView, newest: dict[str, tuple[str, int]], uploaded: dict[str, datetime], now: datetime) -> None:
    if not newest:
        return
    top = None
    for version, _ in newest.values():
        if top is None or quetz.newer(version, top):
            top = version
    view.latest_version = top
    # a subdir lags when its newest *version* is older: rebuilds for one platform are normal
    behind = _lagging(newest, top)
    for subdir in sorted(newest):
        version, number = newest[subdir]
        lagging = subdir in behind
        # built from rows already typed by the database: construct without validating again (a page has thousands)
        view.subdirs.append(SubdirVersion.model_construct(subdir=subdir, version=version, build_number=number, uploaded=aware(uploaded.get(subdir)), lagging=lagging))
        if lagging:
            view.lagging_subdirs.append(subdir)
    times = [t for t in uploaded.values() if t is not None]
    view.last_upload = aware(max(times)) if times else None
    if view.last_upload is not None:
        view.days_since_upload = max(0, (now - view.last_upload).days)


def _excerpt(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit].rstrip() + "…", True)


def _bot(signals: list, settings: DashboardSettings) -> BotView:
    bot = construct(BotView)
    for s in signals:
        if s.kind == "version-error":
            excerpt, cut = _excerpt(s.detail, settings.error_excerpt)
            bot.version_error = VersionErrorView.model_construct(attempts=s.attempts, excerpt=excerpt, truncated=cut, job_url=s.url)
        elif s.kind == "version-queued":
            bot.queued_version = s.detail
        elif s.kind == "migration":
            error, _ = _excerpt(s.detail, settings.error_excerpt)
            bot.migrations.append(MigrationView.model_construct(migration=s.migration, state=s.state, descendants=s.descendants, pr_url=s.url, error=error))
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


def package_view(db: Session, auth, settings: DashboardSettings, channel: str, name: str) -> PackageView | None:
    views = build_packages(db, Access(db, auth), settings, {(channel, name): set()}, datetime.now(timezone.utc))
    # a declared feedstock's package not uploaded yet is shown, in the feedstocks' channel only
    if not views or not (views[0].in_channel or (views[0].feedstock and channel == settings.channel)):
        return None
    return views[0]


def package_attention(db: Session, view: PackageView) -> list[AttentionItem]:
    """The package's items as of now, with when the refreshes first saw them."""
    items = rank(attention_items(view, package_link(view.channel, view.name)))
    A = tables.AttentionRecord
    seen = {(k, s): (f, c) for k, s, f, c in db.execute(select(A.kind, A.subject, A.first_seen, A.changed_at).where(
        A.channel == view.channel, A.package == view.name, A.resolved_at.is_(None)))}
    for item in items:
        if (item.kind, item.subject) in seen:
            item.first_seen, item.changed_at = (aware(t) for t in seen[(item.kind, item.subject)])
    return items


def source_problems(db: Session, details: bool) -> dict[str, list[str]]:
    """The last refresh's problems per source. Their text names server paths and source locations:
    only server owners and maintainers see it; everyone else sees how many there are."""
    problems = stale_sources(db)
    if details:
        return problems
    return {source: [f"{len(found)} problem(s); details in the server log"] for source, found in problems.items()}
