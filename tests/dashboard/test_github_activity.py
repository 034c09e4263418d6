"""Open PRs, issues and CI state from GitHub's REST API, read by the refresh. GitHub itself cannot be
reached here: a local stand-in server answers in GitHub's shapes (ETags, 304, rate-limit headers,
the Link header of a paged list) and records what it was sent."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from condainfra.dashboard import quetz_adapter as quetz
from condainfra.dashboard import tables
from condainfra.dashboard.sources.github_activity import ci_state, refresh_activity

from .conftest import start_dashboard

REPOS = {
    "libfoo": {"open": 7, "prs": 3, "checks": [{"status": "completed", "conclusion": "failure"}, {"status": "completed", "conclusion": "success"}]},
    "barpy": {"open": 1, "prs": 1, "checks": [{"status": "in_progress", "conclusion": None}]},
    "bazlib": {"open": 0, "prs": 0, "checks": []},
}


class FakeGitHub(BaseHTTPRequestHandler):
    """GitHub's answers for three feedstocks; ``budget`` requests before the rate limit trips."""

    seen: list[tuple[str, dict]] = []
    budget = 1000

    def log_message(self, *args):
        pass

    def do_GET(self):
        FakeGitHub.seen.append((self.path, dict(self.headers)))
        FakeGitHub.budget -= 1
        if FakeGitHub.budget < 0:
            return self._send(403, {"message": "API rate limit exceeded"}, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1900000000"})
        parts = self.path.split("?")[0].strip("/").split("/")
        name = parts[2].removesuffix("-feedstock") if len(parts) > 2 else ""
        repo = REPOS.get(name)
        if parts[:2] != ["repos", "conda-forge"] or repo is None:
            return self._send(404, {"message": "Not Found"})
        if len(parts) == 3:
            body, extra = {"default_branch": "main", "open_issues_count": repo["open"]}, {}
        elif parts[3] == "pulls":
            # per_page=1: one item, and the Link header's last page is the count
            body = [{"number": 1}] if repo["prs"] else []
            extra = {"link": f'<http://x/repos/conda-forge/{name}-feedstock/pulls?state=open&per_page=1&page={repo["prs"]}>; rel="last"'} if repo["prs"] > 1 else {}
        else:
            assert parts[3:6] == ["commits", "main", "check-runs"], self.path
            body, extra = {"total_count": len(repo["checks"]), "check_runs": repo["checks"]}, {}
        etag = f'W/"{name}-{parts[-1]}-{json.dumps(body, sort_keys=True).__hash__() & 0xffff}"'
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, None, {"etag": etag})
        self._send(200, body, {"etag": etag, "x-ratelimit-remaining": str(max(FakeGitHub.budget, 0)), **extra})

    def _send(self, status, body, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def fresh_dashboard(tmp_path_factory):
    """A dashboard of this module's own: these tests write GitHub activity rows."""
    board = start_dashboard(tmp_path_factory.mktemp("github-activity"))
    yield board
    board.server.stop()


@pytest.fixture()
def github():
    FakeGitHub.seen, FakeGitHub.budget = [], 1000
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _activity(db) -> dict[str, tuple]:
    G = tables.GithubActivity
    return {g.feedstock: (g.open_prs, g.open_issues, g.ci_state) for g in db.query(G)}


def test_counts_etags_and_rate_limit_without_a_token(fresh_dashboard, github, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    with quetz.session_for(fresh_dashboard.deployment.path) as db:
        settings = quetz.settings().model_copy(update={"github_api": github, "github_requests_per_run": 100})
        counts: dict[str, int] = {}
        assert refresh_activity(db, settings, counts) == []
        db.commit()
        found = _activity(db)
        # ghost has no repository (404): read, nothing known
        assert found["libfoo"] == (3, 4, "failure") and found["barpy"] == (1, 0, "pending") and found["bazlib"] == (0, 0, "none")
        assert found["ghost"] == (None, None, None)
        assert counts["GitHub repositories read"] == 4
        assert all("authorization" not in {k.lower() for k in headers} for _, headers in FakeGitHub.seen)

        # the next run asks with the ETags it was given: unchanged answers are 304s, the counts stay
        FakeGitHub.seen = []
        assert refresh_activity(db, settings, {}) == []
        db.commit()
        assert _activity(db) == found
        conditional = [h for p, h in FakeGitHub.seen if p.startswith("/repos/conda-forge/libfoo")]
        assert conditional and all("If-None-Match" in h for h in conditional)

        # a budget of 4 requests covers one feedstock (3 requests each), the one read longest ago
        FakeGitHub.seen = []
        refresh_activity(db, settings.model_copy(update={"github_requests_per_run": 4}), {})
        assert len(FakeGitHub.seen) <= 3

        # GitHub's rate limit: the run stops, says so in its counts, and is not a problem that flags every page
        FakeGitHub.budget = 2
        counts = {}
        assert refresh_activity(db, settings, counts) == []
        assert counts.get("GitHub rate limited") == 1
        db.commit()
        assert _activity(db)["libfoo"] == (3, 4, "failure")


def test_a_token_is_sent_and_never_reported(fresh_dashboard, github, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret_test_token")
    with quetz.session_for(fresh_dashboard.deployment.path) as db:
        settings = quetz.settings().model_copy(update={"github_api": github + "/broken-prefix", "github_requests_per_run": 30})
        problems = refresh_activity(db, settings, {})
        db.rollback()
    assert FakeGitHub.seen and all(h.get("Authorization") == "Bearer ghp_secret_test_token" for _, h in FakeGitHub.seen)
    assert not any("ghp_secret" in p for p in problems)


def test_unreachable_api_is_one_problem(fresh_dashboard, monkeypatch):
    with quetz.session_for(fresh_dashboard.deployment.path) as db:
        settings = quetz.settings().model_copy(update={"github_api": "http://127.0.0.1:9", "github_requests_per_run": 30})
        problems = refresh_activity(db, settings, {})
        db.rollback()
    assert len(problems) == 1 and "ConnectError" in problems[0]


def test_ci_state_from_check_runs():
    assert ci_state({"check_runs": []}) == "none"
    assert ci_state({"check_runs": [{"status": "completed", "conclusion": "skipped"}, {"status": "completed", "conclusion": "success"}]}) == "success"
    assert ci_state({"check_runs": [{"status": "queued"}]}) == "pending"
    assert ci_state({"check_runs": [{"status": "completed", "conclusion": "timed_out"}, {"status": "queued"}]}) == "failure"
    assert ci_state({"check_runs": "nope"}) is None and ci_state([1]) is None


def test_counts_reach_the_pages(fresh_dashboard, github):
    with quetz.session_for(fresh_dashboard.deployment.path) as db:
        refresh_activity(db, quetz.settings().model_copy(update={"github_api": github, "github_requests_per_run": 100}), {})
        db.commit()
    libfoo = next(p for p in fresh_dashboard.get("/api/dashboard/maintainers/alice").json()["packages"] if p["name"] == "libfoo")
    assert libfoo["github"]["open_prs"] == 3 and libfoo["github"]["ci_state"] == "failure"
    page = fresh_dashboard.get("/dashboard/maintainers/alice").text
    assert 'href="https://github.com/conda-forge/libfoo-feedstock/pulls">3 PRs' in page
    assert "CI failure" in page
