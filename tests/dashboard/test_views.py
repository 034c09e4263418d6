"""The views maintainers expect (issue 18): server-side sorting, filtering and paging without
JavaScript, team pages and feeds, the overview as the org's status, history (first seen, resolved),
snoozing, and the smaller fixes (the uploading admin, noarch moves, drift out of the Mirror column)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest

from condainfra.dashboard import quetz_adapter as quetz
from condainfra.dashboard import tables
from condainfra.dashboard.actions import refresh
from condainfra.dashboard.pages import render
from condainfra.dashboard.service import _lagging

from .conftest import CHANNEL, start_dashboard

ATOM = {"a": "http://www.w3.org/2005/Atom"}


def _names(view):
    return [p["name"] for p in view["packages"]]


# --- read-only, on the session's dashboard ----------------------------------------------------

def test_maintainer_packages_are_sorted_filtered_and_paged_on_the_server(dashboard):
    everything = dashboard.get("/api/dashboard/maintainers/alice", params={"sort": "name"}).json()
    assert _names(everything) == ["barpy", "ghost", "libfoo"] and everything["listing"]["pages"] == 1
    second = dashboard.get("/api/dashboard/maintainers/alice", params={"sort": "name", "per_page": 1, "page": 2}).json()
    assert _names(second) == ["ghost"] and second["listing"] | {"total": 3, "pages": 3, "page": 2} == second["listing"]
    assert second["package_count"] == 3
    # the queue still covers every package, not only the page's
    assert {i["package"] for i in second["attention"]} >= {"barpy", "libfoo"}
    lagging = dashboard.get("/api/dashboard/maintainers/alice", params={"state": "lagging"}).json()
    assert _names(lagging) == ["libfoo"]
    assert _names(dashboard.get("/api/dashboard/maintainers/alice", params={"state": "ok"}).json()) == ["ghost"]
    assert _names(dashboard.get("/api/dashboard/maintainers/alice", params={"name": "BAR"}).json()) == ["barpy"]
    # most urgent first by default: barpy blocks a migration
    assert _names(everything := dashboard.get("/api/dashboard/maintainers/alice").json())[0] == "barpy", everything
    assert dashboard.get("/api/dashboard/maintainers/alice", params={"sort": "bogus"}).status_code == 422


def test_the_page_controls_are_plain_links_and_a_get_form(dashboard):
    page = dashboard.get("/dashboard/maintainers/alice", params={"sort": "name", "per_page": 1, "page": 2}).text
    assert '<form class="cut" method="get"' in page and "<script" not in page
    assert 'href="/dashboard/maintainers/alice?sort=name&amp;page=3&amp;per_page=1#packages" rel="next"' in page
    assert 'href="/dashboard/maintainers/alice?sort=name&amp;per_page=1#packages" rel="prev"' in page
    assert '<option value="name" selected>' in page


def test_queue_links_say_what_they_open(dashboard):
    view = dashboard.get("/api/dashboard/maintainers/alice").json()
    labels = {(i["package"], i["kind"]): i["link_label"] for i in view["attention"]}
    assert labels[("barpy", "migration-blocked")] == "pull request"
    assert labels[("libfoo", "version-update-failed")] == "bot CI job"
    assert labels[("libfoo", "subdir-lagging")] == "package page"
    page = dashboard.get("/dashboard/maintainers/alice").text
    assert ">details<" not in page and "open the pull request" in page and "open the bot CI job" in page
    # the queue is markup, not markup shown as text
    assert '<ol class="queue">' in page and "&lt;li" not in page


def test_upstream_version_and_behind_upstream(dashboard):
    # the bot queued bazlib 2.1; the channel has 2.0
    view = dashboard.get("/api/dashboard/maintainers/bob").json()
    bazlib = next(p for p in view["packages"] if p["name"] == "bazlib")
    assert bazlib["upstream_version"] == "2.1" and bazlib["behind_upstream"] is True
    kinds = {(i["package"], i["kind"]) for i in view["attention"]}
    assert ("bazlib", "behind-upstream") in kinds and ("bazlib", "version-queued") not in kinds
    assert "upstream 2.1" in dashboard.get("/dashboard/maintainers/bob").text


def test_package_links(dashboard):
    page = dashboard.get("/dashboard/maintainers/alice").text
    for href in ("https://github.com/conda-forge/libfoo-feedstock/pulls", "https://github.com/conda-forge/libfoo-feedstock/issues",
                 "https://anaconda.org/conda-forge/libfoo", "https://prefix.dev/channels/conda-forge/packages/libfoo"):
        assert f'href="{href}"' in page
    # no anaconda.org page for a package that is not in the channel
    assert "https://anaconda.org/conda-forge/ghost" not in page


def test_team_page_and_feed(dashboard):
    view = dashboard.get("/api/dashboard/teams/conda-forge/core").json()
    assert view["team"] is True and _names(view) == ["barpy"] and set(view["members"]) == {"carol", "owner-one"}
    assert [i["kind"] for i in view["attention"]] == ["migration-blocked"]
    page = dashboard.get("/dashboard/teams/conda-forge/core")
    assert page.status_code == 200 and "Team conda-forge/core" in page.text and 'href="/dashboard/maintainers/carol"' in page.text
    feed = ET.fromstring(dashboard.get("/dashboard/teams/conda-forge/core/feed.atom").content)
    assert [e.findtext("a:title", namespaces=ATOM) for e in feed.findall("a:entry", ATOM)][0].startswith("barpy: migration big_migration")
    assert dashboard.get("/dashboard/teams/conda-forge/no-such-team").status_code == 404
    assert dashboard.get("/api/dashboard/teams/other/core").status_code == 404


def test_team_pages_list_the_feedstocks_the_team_is_declared_on(dashboard):
    """A team holds a feedstock by declaration, whoever its members are: listed as a maintainer
    (`conda-forge/r`, a team that lists nobody), the feedstock's own team (named after it or by its
    `team:` key), or granted the feedstock's repository in org.yaml. Not its members' other feedstocks.
    The session's dashboard, its config changed for this test only: whatever a refresh reads meanwhile, the
    change adds no maintainer row (`r` lists nobody; `team:` names no one)."""
    stacks = dashboard.sources / "project" / "stacks" / "conda-forge"
    org, feedstocks = stacks / "org.yaml", stacks / "feedstocks" / "main.yaml"
    before = {path: path.read_text() for path in (org, feedstocks)}
    org.write_text(before[org].replace("teams:\n", "teams:\n  r:\n    description: 'R packages <b>&</b>'\n"
                                       "  libs:\n    members: [carol]\n    repositories:\n      bazlib-feedstock: push\n"))
    feedstocks.write_text(before[feedstocks].replace("libfoo: [alice, bob]\n", "libfoo:\n  maintainers: [alice, bob]\n  team: libs\n")
                          .replace("bazlib: [bob]\n", "bazlib: [bob, conda-forge/r]\n"))
    try:
        # nobody is listed in `r`: a page of its declared feedstock all the same, with no member line
        r = dashboard.get("/api/dashboard/teams/conda-forge/r").json()
        assert r["team"] is True and _names(r) == ["bazlib"] and r["members"] == [] and r["description"] == "R packages <b>&</b>"
        assert "<p>R packages &lt;b&gt;&amp;&lt;/b&gt;</p>" in dashboard.get("/dashboard/teams/conda-forge/r").text  # escaped
        assert r["packages"][0]["roles"] == ["listed as maintainer"]
        # `libs`: libfoo's own team by its `team:` key, and bazlib's repository grant; carol's own feedstocks are not in it
        libs = dashboard.get("/api/dashboard/teams/conda-forge/libs", params={"sort": "name"}).json()
        assert _names(libs) == ["bazlib", "libfoo"] and libs["members"] == ["carol"]
        assert {p["name"]: p["roles"] for p in libs["packages"]} == {"bazlib": ["granted push on its repository"], "libfoo": ["the feedstock's team"]}
        # the same queue as a maintainer page of those packages
        assert {(i["package"], i["kind"]) for i in libs["attention"]} >= {("libfoo", "version-update-failed"), ("libfoo", "subdir-lagging")}
        assert {i["package"] for i in libs["attention"]} <= {"libfoo", "bazlib"}
        # a feedstock's own team, named after it: its direct maintainers, not the teams it lists
        barpy = dashboard.get("/api/dashboard/teams/conda-forge/barpy").json()
        assert _names(barpy) == ["barpy"] and barpy["members"] == ["alice"]
        # the team it lists still holds it, with its members
        core = dashboard.get("/api/dashboard/teams/conda-forge/core").json()
        assert _names(core) == ["barpy"] and core["members"] == ["carol", "owner-one"]
        page = dashboard.get("/dashboard/teams/conda-forge/libs")
        assert page.status_code == 200 and "Team conda-forge/libs" in page.text and 'href="/dashboard/maintainers/carol"' in page.text
        feed = ET.fromstring(dashboard.get("/dashboard/teams/conda-forge/libs/feed.atom").content)
        titles = [e.findtext("a:title", namespaces=ATOM) for e in feed.findall("a:entry", ATOM)]
        # the open items; ended ones stay in the feed a while as "resolved: ..." (whatever the shared dashboard's history)
        assert {t.split(":")[0] for t in titles if not t.startswith("resolved:")} == {i["package"] for i in libs["attention"]}
        # undeclared teams, another org's teams and hostile names: not found, as JSON (never HTML that echoes the name)
        for path in ("/dashboard/teams/conda-forge/no-such-team", "/api/dashboard/teams/other-org/libfoo", "/dashboard/teams/conda-forge/%3Cscript%3E"):
            answer = dashboard.get(path)
            assert answer.status_code == 404 and answer.headers["content-type"] == "application/json", path
    finally:
        for path, text in before.items():
            path.write_text(text)
    # the files changed back: the next page read sees it
    assert dashboard.get("/api/dashboard/teams/conda-forge/r").status_code == 404


def test_overview_is_the_orgs_status(dashboard):
    view = dashboard.get("/api/dashboard/maintainers").json()
    assert view["counts"]["feedstocks"] == 4 and view["counts"]["packages"] >= 4
    assert view["attention_by_kind"]["migration-blocked"] == 1 and view["attention_by_kind"]["version-update-failed"] == 1
    [migration] = view["migrations"]
    assert (migration["migration"], migration["total"], migration["in_pr"], migration["done"]) == ("big_migration", 1, 1, 0)
    assert {h["source"] for h in view["health"]} >= {"config", "bot", "mirror", "drift"}
    assert all(h["refreshed_at"] for h in view["health"]) and view["refreshed_at"]
    assert {"libfoo"} <= {item["package"] for item in view["lagging"]}
    assert {m["login"] for m in view["busiest"]} >= {"alice", "bob"}
    page = dashboard.get("/dashboard/").text
    assert "big_migration" in page and "<progress" in page and "Sources" in page


def test_search_finds_packages_and_maintainers_but_not_the_uploading_admin(dashboard):
    found = dashboard.get("/api/dashboard/maintainers", params={"q": "libf"}).json()
    assert [p["name"] for p in found["packages"]] == ["libfoo"] and found["maintainers"] == []
    # the server owner who uploaded every package holds Quetz roles on all of them: not a maintainer
    assert dashboard.get("/api/dashboard/maintainers", params={"q": "upload"}).json()["maintainers"] == []
    assert [m["login"] for m in dashboard.get("/api/dashboard/maintainers", params={"q": "ali"}).json()["maintainers"]] == ["alice"]
    # LIKE's own wildcards are literal characters in a search
    assert dashboard.get("/api/dashboard/maintainers", params={"q": "%"}).json()["maintainers"] == []
    assert "hidden-pkg" not in dashboard.get("/dashboard/", params={"q": "hidden"}).text


def test_drift_is_not_in_the_mirror_column():
    from condainfra.dashboard.settings import DashboardSettings
    from condainfra.dashboard.views import DriftView, Listing, MaintainerView, MirrorView, PackageView

    package = PackageView(channel="c", name="p", roles=[], in_channel=True, drift=DriftView(stack="s1", changes=2, touches_feedstock=True),
                          mirror=MirrorView(caught_up=True))
    view = MaintainerView(login="x", generated_at=datetime.now().astimezone(), packages=[package], attention=[], listing=Listing(total=1))
    html = render("maintainer.html", view=view, path="/dashboard/maintainers/x", settings=DashboardSettings())
    mirror_cell = re.search(r'<td data-label="Mirror">(.*?)</td>', html, re.S).group(1)
    assert "drift" not in mirror_cell and "caught up" in mirror_cell
    assert "stack s1 drifted" in html


def test_a_package_moved_to_noarch_does_not_lag():
    assert _lagging({"noarch": ("2.0", 0), "linux-64": ("1.0", 0), "win-64": ("1.1", 0)}, "2.0") == set()
    # moved off noarch: the old noarch build is not lagging either, the platforms are compared
    assert _lagging({"noarch": ("1.0", 0), "linux-64": ("2.0", 0), "win-64": ("1.5", 0)}, "2.0") == {"win-64"}


def test_feed_stays_well_formed_xml_with_control_characters():
    from condainfra.dashboard.views import AttentionItem, MaintainerView

    now = datetime.now().astimezone()
    item = AttentionItem(package="pkg\x01\x1b[31m", channel="c", kind="stale", reason="bad \x00\x08 text \ufffe", score=5, link="/dashboard/packages/c/p",
                         first_seen=now, changed_at=now)
    view = MaintainerView(login="x\x0b", generated_at=now, packages=[], attention=[item])
    body = render("feed.atom", view=view, base="http://h", path="/dashboard/maintainers/x")
    feed = ET.fromstring(body.encode())  # raises on an ill-formed document
    assert feed.find("a:entry/a:title", ATOM).text.startswith("pkg")


# --- history and snoozes, on a dashboard of their own -----------------------------------------

@pytest.fixture(scope="module")
def board(tmp_path_factory):
    board = start_dashboard(tmp_path_factory.mktemp("views"))
    with quetz.session_for(board.deployment.path) as db:
        for login in ("alice", "bob"):
            board.keys[login] = quetz.create_api_key(db, login, "tests")
    yield board
    board.server.stop()


def _attention(board, login, as_user=None):
    return board.get(f"/api/dashboard/maintainers/{login}", as_user=as_user).json()


def _bot_errors(board, errors: dict) -> None:
    path = board.sources / "bot" / "version_status.v2.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data | {"errors": errors}))


def test_items_keep_when_they_were_first_seen_and_stay_a_while_once_resolved(board):
    before = {(i["package"], i["kind"]): i for i in _attention(board, "alice")["attention"]}
    failed = before[("libfoo", "version-update-failed")]
    assert failed["first_seen"] and failed["first_seen"] == failed["changed_at"]
    original = json.loads((board.sources / "bot" / "version_status.v2.json").read_text())["errors"]

    _bot_errors(board, {})
    refresh(board.deployment)
    view = _attention(board, "alice")
    assert ("libfoo", "version-update-failed") not in {(i["package"], i["kind"]) for i in view["attention"]}
    [resolved] = [i for i in view["resolved"] if i["kind"] == "version-update-failed"]
    assert resolved["resolved_at"] >= resolved["first_seen"] == failed["first_seen"]
    # the other items were seen before and keep their first sighting
    after = {(i["package"], i["kind"]): i["first_seen"] for i in view["attention"]}
    assert after[("barpy", "migration-blocked")] == before[("barpy", "migration-blocked")]["first_seen"]
    feed = ET.fromstring(board.get("/dashboard/maintainers/alice/feed.atom").content)
    titles = {e.findtext("a:title", namespaces=ATOM): e.findtext("a:updated", namespaces=ATOM) for e in feed.findall("a:entry", ATOM)}
    assert any(t.startswith("resolved: libfoo: version update failed") for t in titles)
    assert "Resolved recently" in board.get("/dashboard/maintainers/alice").text

    _bot_errors(board, original)  # it came back: a new episode, seen from now
    refresh(board.deployment)
    again = {(i["package"], i["kind"]): i for i in _attention(board, "alice")["attention"]}[("libfoo", "version-update-failed")]
    assert again["first_seen"] > failed["first_seen"]

    # resolved items are forgotten after a week
    with quetz.session_for(board.deployment.path) as db:
        for record in db.query(tables.AttentionRecord).filter(tables.AttentionRecord.resolved_at.isnot(None)):
            record.resolved_at = datetime.utcnow() - timedelta(days=8)
        db.commit()
    refresh(board.deployment)
    assert _attention(board, "alice")["resolved"] == []


def _snooze(board, login, as_user, days=3, headers=None, **item):
    import httpx

    form = {"channel": CHANNEL, "package": "libfoo", "kind": "subdir-lagging", "subject": "", "days": str(days)} | item
    auth = {"X-API-Key": board.keys[as_user]} if as_user else {}
    return httpx.post(f"{board.url}/dashboard/maintainers/{login}/snooze", data=form, headers=auth | (headers or {}), follow_redirects=False, timeout=30)


def test_snooze_is_per_signed_in_maintainer_and_ends(board):
    assert _snooze(board, "alice", None).status_code == 403  # not signed in
    assert _snooze(board, "alice", "bob").status_code == 403  # someone else's queue
    assert _snooze(board, "alice", "alice", package="bazlib").status_code == 403  # not alice's package
    assert _snooze(board, "alice", "alice", headers={"Origin": "https://evil.example"}).status_code == 403
    assert _snooze(board, "alice", "alice", days=1000).status_code == 422

    answer = _snooze(board, "alice", "alice")
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/maintainers/alice#attention"
    alice = _attention(board, "alice")
    assert ("libfoo", "subdir-lagging") not in {(i["package"], i["kind"]) for i in alice["attention"]}
    assert [(i["package"], i["kind"]) for i in alice["snoozed"]] == [("libfoo", "subdir-lagging")]
    feed = board.get("/dashboard/maintainers/alice/feed.atom").text
    assert "osx-64 behind" not in feed
    # bob maintains libfoo too: his queue keeps it
    assert ("libfoo", "subdir-lagging") in {(i["package"], i["kind"]) for i in _attention(board, "bob")["attention"]}
    # the forms are there for alice herself only
    assert "Snooze 7 days" in board.get("/dashboard/maintainers/alice", as_user="alice").text
    assert "Snooze 7 days" not in board.get("/dashboard/maintainers/alice", as_user="bob").text

    # the time is up: it comes back
    with quetz.session_for(board.deployment.path) as db:
        db.query(tables.Snooze).update({tables.Snooze.until: datetime.utcnow() - timedelta(minutes=1)})
        db.commit()
    assert ("libfoo", "subdir-lagging") in {(i["package"], i["kind"]) for i in _attention(board, "alice")["attention"]}
    # and "show again" (0 days) ends one at once
    _snooze(board, "alice", "alice")
    assert _snooze(board, "alice", "alice", days=0).status_code == 303
    assert _attention(board, "alice")["snoozed"] == []


def test_output_names_that_are_not_package_names_never_become_links(board, tmp_path):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from condainfra.dashboard.refresh import refresh_all

    (tmp_path / "feedstock_outputs.json").write_text(json.dumps({"libfoo": ["libfoo"], "../../api/channels": ["libfoo"], "bad\x01name": ["bazlib"], "barpy": ["barpy"]}))
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with quetz.session_for(board.deployment.path) as db:
            settings = quetz.settings()
            url = f"http://127.0.0.1:{server.server_address[1]}/feedstock_outputs.json"
            report = refresh_all(db, settings.model_copy(update={"feedstock_outputs": url}))
        assert any("'../../api/channels' -> 'libfoo': not a package name" in p for p in report.problems["config"])
        with quetz.session_for(board.deployment.path) as db:
            assert {p for (p,) in db.query(tables.FeedstockOutput.package)} == {"libfoo", "barpy", "bazlib", "ghost"}
        for path in ("/dashboard/maintainers/alice", "/dashboard/maintainers/alice/feed.atom", "/dashboard/maintainers/bob", "/api/dashboard/maintainers/alice"):
            body = board.get(path).text
            assert "../../api" not in body and "..%2F" not in body and "\x01" not in body, path
        ET.fromstring(board.get("/dashboard/maintainers/bob/feed.atom").content)
    finally:
        server.shutdown()
        server.server_close()
        refresh(board.deployment)
