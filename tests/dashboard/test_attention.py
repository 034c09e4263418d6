"""The queue's ordering rules (docs/dashboard.md)."""

from __future__ import annotations

from condainfra.dashboard.attention import attention_items, rank
from condainfra.dashboard.views import BotView, DriftView, MigrationView, MirrorView, PackageView, VersionErrorView


def pkg(name, **kw) -> PackageView:
    return PackageView(channel="c", name=name, roles=[], in_channel=True, feedstock_url=f"https://github.com/o/{name}-feedstock", **kw)


def kinds(*packages):
    items = []
    for p in packages:
        items += attention_items(p, f"/dashboard/packages/c/{p.name}")
    return [(i.package, i.kind) for i in rank(items)]


def test_blockers_before_repeated_failures_before_old():
    blocker = pkg("blocker", bot=BotView(migrations=[MigrationView(migration="m", state="awaiting-pr", descendants=300)]))
    failing = pkg("failing", bot=BotView(version_error=VersionErrorView(attempts=50, excerpt="", truncated=False, job_url=None)))
    lagging = pkg("lagging", latest_version="2", lagging_subdirs=["win-64"])
    old = pkg("old", days_since_upload=2000)
    assert kinds(old, lagging, failing, blocker) == [("blocker", "migration-blocked"), ("failing", "version-update-failed"), ("lagging", "subdir-lagging"), ("old", "stale")]


def test_more_descendants_and_more_failures_rank_higher():
    few = pkg("few", bot=BotView(migrations=[MigrationView(migration="m", state="in-pr", descendants=2)]))
    many = pkg("many", bot=BotView(migrations=[MigrationView(migration="m", state="in-pr", descendants=200)]))
    once = pkg("once", bot=BotView(version_error=VersionErrorView(attempts=1, excerpt="", truncated=False, job_url=None)))
    often = pkg("often", bot=BotView(version_error=VersionErrorView(attempts=30, excerpt="", truncated=False, job_url=None)))
    assert kinds(few, many)[0] == ("many", "migration-blocked")
    assert kinds(once, often)[0] == ("often", "version-update-failed")
    # with as many feedstocks waiting, a failed migration step outranks an open PR
    failed = pkg("failed", bot=BotView(migrations=[MigrationView(migration="m", state="not-solvable", descendants=200)]))
    assert kinds(many, failed)[0] == ("failed", "migration-failed")


def test_quiet_packages_have_no_items_and_links_are_kept():
    assert kinds(pkg("fine", days_since_upload=3, mirror=MirrorView(caught_up=True))) == []
    drift = pkg("d", drift=DriftView(stack="s", changes=2, touches_feedstock=True), mirror=MirrorView(caught_up=False, behind=["linux-64"]))
    items = rank(attention_items(drift, "/dashboard/packages/c/d"))
    assert [i.kind for i in items] == ["drift", "mirror-behind"]
    assert items[0].link == "https://github.com/o/d-feedstock" and items[1].link == "/dashboard/packages/c/d"
    untouched = pkg("u", drift=DriftView(stack="s", changes=2, touches_feedstock=False))
    assert kinds(untouched) == []
