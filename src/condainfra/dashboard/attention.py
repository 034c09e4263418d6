"""The "needs attention" queue: every signal of every package, most urgent first.

Scores favour what blocks other people (a migration with many descendants waiting on this
feedstock) and what failed again and again, over what is merely old. docs/dashboard.md has
the table; change both together.
"""

from __future__ import annotations

import math

from .views import AttentionItem, PackageView

STALE_DAYS = 365
# what "lags" on the overview: the package is behind something it should have caught up with
LAG_KINDS = ("behind-upstream", "subdir-lagging", "version-update-failed")


def _log(n: float) -> float:
    return math.log2(1 + max(n, 0))


def link_label(link: str, package_link: str) -> str:
    """Say what a queue link opens, instead of a bare "details"."""
    if link == package_link:
        return "package page"
    if "/pull/" in link:
        return "pull request"
    if "/actions/runs/" in link:
        return "bot CI job"
    if link.endswith("-feedstock"):
        return "feedstock"
    return "link"


def attention_items(package: PackageView, package_link: str) -> list[AttentionItem]:
    items: list[AttentionItem] = []
    feedstock = package.feedstock_url or package_link

    def add(kind, reason, score, link=None, subject=""):
        link = link or feedstock
        items.append(AttentionItem.model_construct(package=package.name, channel=package.channel, kind=kind, subject=subject, reason=reason, score=round(score, 2),
                                   link=link, link_label=link_label(link, package_link)))

    for m in package.bot.migrations:
        link = m.pr_url or feedstock
        if m.state in ("bot-error", "not-solvable"):
            add("migration-failed", f"migration {m.migration}: {m.state}" + (f", blocking {m.descendants} feedstock(s)" if m.descendants else ""),
                60 + 10 * _log(m.descendants), link, m.migration)
        elif m.descendants and m.state in ("in-pr", "awaiting-pr"):
            what = "its PR is open" if m.state == "in-pr" else "the bot has not opened a PR yet"
            add("migration-blocked", f"migration {m.migration} waits on this feedstock ({what}); {m.descendants} feedstock(s) downstream",
                45 + 10 * _log(m.descendants), link, m.migration)
    error = package.bot.version_error
    if error is not None:
        add("version-update-failed", f"version update failed {error.attempts:g} time(s)", 40 + 8 * _log(error.attempts), error.job_url)
    if package.behind_upstream:
        add("behind-upstream", f"upstream {package.upstream_version} is newer than {package.latest_version}"
            + ("; the bot will open a PR" if package.bot.queued_version == package.upstream_version else ""), 20)
    if package.lagging_subdirs:
        add("subdir-lagging", f"{', '.join(package.lagging_subdirs)} behind {package.latest_version}", 30 + 2 * len(package.lagging_subdirs), package_link)
    if package.drift is not None and package.drift.touches_feedstock:
        add("drift", f"stack {package.drift.stack} has drifted from the config ({package.drift.changes} resource(s))", 25)
    if package.mirror.caught_up is False:
        add("mirror-behind", f"mirror lacks the newest build in {', '.join(package.mirror.behind)}", 15, package_link)
    if package.bot.queued_version and not package.behind_upstream:
        add("version-queued", f"upstream {package.bot.queued_version} is queued for a bot PR", 10)
    if package.days_since_upload is not None and package.days_since_upload > STALE_DAYS:
        add("stale", f"no upload for {package.days_since_upload} days", 5 + min(package.days_since_upload / 365, 5), package_link)
    return items


def rank(items: list[AttentionItem]) -> list[AttentionItem]:
    return sorted(items, key=lambda i: (-i.score, i.package, i.kind))
