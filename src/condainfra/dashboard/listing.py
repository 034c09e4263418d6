"""A maintainer's or a team's page: their packages sorted, filtered and paged on the server from the
refresh's package states, only the shown page built live, and their queue read from the attention
history (first seen, resolved, snoozed). A fixed number of queries whatever the number of packages."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from . import quetz_adapter as quetz
from . import tables
from .attention import link_label
from .service import Access, aware, build_packages, feedstock_outputs, package_link, stale_sources
from .settings import DashboardSettings
from .views import AttentionItem, Listing, MaintainerView

QUEUE_LIMIT = 100
RESOLVED_SHOWN = 20
MAX_SNOOZE_DAYS = 90
STATE_FILTERS = {
    "attention": lambda kinds: bool(kinds),
    "ok": lambda kinds: not kinds,
    "behind-upstream": lambda kinds: "behind-upstream" in kinds,
    "lagging": lambda kinds: "subdir-lagging" in kinds,
    "failing": lambda kinds: bool({"version-update-failed", "migration-failed"} & kinds),
}
_FAR_PAST = datetime(1970, 1, 1)


def maintainer_packages(db: Session, settings: DashboardSettings, login: str) -> tuple[dict[tuple[str, str], set[str]], bool]:
    """(channel, package) -> why the maintainer sees it; and whether Quetz knows the login."""
    key = login.lower()
    wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
    U, PM = quetz.User, quetz.PackageMember
    known = False
    for channel, package, role in db.execute(select(PM.channel_name, PM.package_name, PM.role).join(U, U.id == PM.user_id).where(func.lower(U.username) == key)):
        wanted[(channel, package)].add(role)
        known = True
    FM = tables.FeedstockMaintainer
    rows = db.execute(select(FM.org, FM.feedstock, FM.via_team).where(FM.login == key)).all()
    if rows:
        outputs = feedstock_outputs(db, {f for _, f, _ in rows})
        for org, feedstock, via in rows:
            for package in outputs.get((org, feedstock), []):
                wanted[(settings.channel, package)].add(via or "feedstock maintainer")
    return wanted, known or quetz.user_id_of(db, login) is not None


def _readable(db: Session, access: Access, wanted: dict) -> list[tuple[str, str]]:
    channels = {c for c, _ in wanted}
    private = dict(db.execute(select(quetz.Channel.name, quetz.Channel.private).where(quetz.Channel.name.in_(channels))).all())
    return [pair for pair in wanted if access.readable(*pair, bool(private.get(pair[0])))]


def _sort_key(sort: str):
    if sort == "name":
        return lambda r: r["name"]
    if sort == "downloads":
        return lambda r: (-r["downloads"], r["name"])
    if sort == "upload":
        return lambda r: (-(r["upload"] or _FAR_PAST).timestamp(), r["name"])
    return lambda r: (-r["score"], r["name"])


def _page(db: Session, pairs: list[tuple[str, str]], listing: Listing) -> list[tuple[str, str]]:
    """Filter, sort and cut the packages on their refreshed states; sets the listing's totals."""
    S = tables.PackageState
    states = {(c, p): (score, kinds, downloads, upload) for c, p, score, kinds, downloads, upload in db.execute(
        select(S.channel, S.package, S.score, S.kinds, S.downloads_total, S.last_upload).where(S.package.in_({p for _, p in pairs})))}
    rows = []
    needle = listing.name.strip().lower()
    keep = STATE_FILTERS.get(listing.state)
    for pair in pairs:
        score, kinds, downloads, upload = states.get(pair, (0.0, "", 0, None))
        if needle and needle not in pair[1].lower():
            continue
        if keep is not None and not keep(set(kinds.split())):
            continue
        rows.append({"pair": pair, "name": pair[1], "score": score, "downloads": downloads, "upload": upload})
    rows.sort(key=_sort_key(listing.sort))
    listing.total = len(rows)
    listing.pages = max(1, -(-len(rows) // listing.per_page))
    listing.page = min(max(1, listing.page), listing.pages)
    start = (listing.page - 1) * listing.per_page
    return [r["pair"] for r in rows[start:start + listing.per_page]]


def _item(r, resolved=None) -> AttentionItem:
    return AttentionItem.model_construct(
        package=r.package, channel=r.channel, kind=r.kind, subject=r.subject, reason=r.reason, score=r.score, link=r.link,
        link_label=link_label(r.link, package_link(r.channel, r.package)), first_seen=aware(r.first_seen), changed_at=aware(r.changed_at),
        resolved_at=aware(resolved if resolved is not None else r.resolved_at))


def _queue(db: Session, view: MaintainerView, pairs: list[tuple[str, str]], login: str | None, now: datetime) -> None:
    A, Z = tables.AttentionRecord, tables.Snooze
    wanted = set(pairs)
    snoozed = {}
    if login:
        snoozed = {(z.channel, z.package, z.kind, z.subject): z.until for z in db.execute(select(Z).where(Z.login == login.lower(), Z.until > now.replace(tzinfo=None))).scalars()}
    open_items, resolved, hidden = [], [], []
    for r in db.execute(select(A).where(A.package.in_({p for _, p in pairs}))).scalars():
        if (r.channel, r.package) not in wanted:
            continue
        key = (r.channel, r.package, r.kind, r.subject)
        if r.resolved_at is not None:
            resolved.append(r)
        elif key in snoozed:
            hidden.append(_item(r, resolved=snoozed[key]))
        else:
            open_items.append(r)
    open_items.sort(key=lambda r: (-r.score, r.package, r.kind, r.subject))
    view.attention = [_item(r) for r in open_items[:QUEUE_LIMIT]]
    view.attention_total = len(open_items)
    by_kind: dict[str, int] = defaultdict(int)
    for r in open_items:
        by_kind[r.kind] += 1
    view.attention_by_kind = dict(sorted(by_kind.items(), key=lambda kv: -kv[1]))
    resolved.sort(key=lambda r: r.resolved_at, reverse=True)
    view.resolved = [_item(r) for r in resolved[:RESOLVED_SHOWN]]
    view.snoozed = sorted(hidden, key=lambda i: (-i.score, i.package))


def viewer_login(db: Session, auth) -> str | None:
    user_id = quetz.viewer(auth)
    if not user_id:
        return None
    user = db.get(quetz.User, user_id)
    return user.username if user else None


def package_page(db: Session, auth, settings: DashboardSettings, title: str, wanted: dict, listing: Listing, snoozer: str | None, team: bool = False,
                 members: list[str] | None = None) -> MaintainerView:
    now = datetime.now(timezone.utc)
    access = Access(db, auth)
    pairs = _readable(db, access, wanted)
    shown = _page(db, pairs, listing) if pairs else []
    built = {(p.channel, p.name): p for p in build_packages(db, access, settings, {pair: wanted[pair] for pair in shown}, now)} if shown else {}
    view = MaintainerView(login=title, team=team, members=members or [], generated_at=now, package_count=len(pairs), listing=listing,
                          packages=[built[pair] for pair in shown if pair in built], attention=[], stale_sources=sorted(stale_sources(db)))
    view.refreshed_at = aware(db.scalar(select(func.max(tables.RefreshRun.refreshed_at))))
    if pairs:
        _queue(db, view, pairs, snoozer, now)
    viewer = viewer_login(db, auth)
    view.can_snooze = bool(not team and viewer and viewer.lower() == title.lower())
    return view


def maintainer_view(db: Session, auth, settings: DashboardSettings, login: str, listing: Listing | None = None) -> MaintainerView | None:
    wanted, known = maintainer_packages(db, settings, login)
    if not wanted and not known:
        return None
    return package_page(db, auth, settings, login, wanted, listing or Listing(), snoozer=login)


def snooze(db: Session, auth, settings: DashboardSettings, login: str, key: tuple[str, str, str, str], days: int) -> bool:
    """The signed-in maintainer ``login`` hides one of their own items for ``days`` (0: shows it again)."""
    viewer = viewer_login(db, auth)
    if not viewer or viewer.lower() != login.lower() or not 0 <= days <= MAX_SNOOZE_DAYS:
        return False
    channel, package, kind, subject = key
    wanted, _ = maintainer_packages(db, settings, login)
    A = tables.AttentionRecord
    if (channel, package) not in wanted or db.get(A, (channel, package, kind, subject)) is None:
        return False
    Z = tables.Snooze
    db.execute(delete(Z).where(Z.login == login.lower(), Z.channel == channel, Z.package == package, Z.kind == kind, Z.subject == subject))
    if days:
        until = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(days=days)
        db.add(Z(login=login.lower(), channel=channel, package=package, kind=kind, subject=subject, until=until))
    db.commit()
    return True
