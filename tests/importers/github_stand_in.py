"""A stand-in for the GitHub REST API (a mock of GitHub, for tests only): a local HTTP server on
127.0.0.1 answering the few ``GET`` requests `condainfra import github` makes, in the shapes the
REST documentation gives (field names as GitHub spells them), with what makes the real API hard
to read: ``Link`` header pagination honouring ``per_page``/``page``, ``ETag``/``If-None-Match``
answered with 304, a primary rate limit (a 403 with ``x-ratelimit-remaining: 0`` and a
``x-ratelimit-reset`` a second or two ahead), and a server that goes away in the middle of a run.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghp_standInTokenNeverWritten0123456789"
SECRET_VALUE = "s3cr3t-value-that-must-never-be-written"


def user(login: str, n: int) -> dict[str, Any]:
    return {"login": login, "id": 1000 + n, "node_id": f"U_{n}", "type": "User", "site_admin": False, "url": f"https://api.github.com/users/{login}"}


def repo(name: str, n: int, **fields: Any) -> dict[str, Any]:
    out = {
        "id": 5000 + n, "node_id": f"R_{n}", "name": name, "full_name": f"acme/{name}", "private": False, "visibility": "public",
        "archived": False, "disabled": False, "description": None, "homepage": None, "default_branch": "main", "topics": [],
        "has_issues": True, "has_wiki": False, "has_projects": False, "has_discussions": False, "fork": False,
    }
    out.update(fields)
    return out


def team(name: str, slug: str, n: int, parent: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    out = {
        "id": 7000 + n, "node_id": f"T_{n}", "name": name, "slug": slug, "description": "", "privacy": "closed",
        "notification_setting": "notifications_enabled", "permission": "pull", "parent": parent,
        "members_url": f"https://api.github.com/organizations/1/team/{7000 + n}/members{{/member}}",
        "repositories_url": f"https://api.github.com/organizations/1/team/{7000 + n}/repos",
    }
    out.update(fields)
    return out


def granted(r: dict[str, Any], role: str) -> dict[str, Any]:
    levels = ["pull", "triage", "push", "maintain", "admin"]
    name = {"read": "pull", "write": "push"}.get(role, role)
    return {**r, "role_name": role, "permissions": {p: levels.index(p) <= levels.index(name) for p in levels}}


@dataclass
class OrgData:
    """The org the stand-in serves; tests change it between runs."""

    org: dict[str, Any]
    admins: list[str]
    members: list[str]
    teams: list[dict[str, Any]]
    team_members: dict[str, dict[str, list[str]]]  # slug -> role -> logins
    team_repos: dict[str, list[dict[str, Any]]]
    repos: list[dict[str, Any]]
    secrets: list[dict[str, Any]]
    secret_repos: dict[str, list[str]]


def acme(extra_members: int = 0) -> OrgData:
    website = repo("website", 1, description="The Acme website", homepage="https://acme.example", has_wiki=True, topics=["web"])
    numpy = repo("numpy-feedstock", 2, description="A conda-smithy repository for numpy.")
    zlib = repo("zlib-feedstock", 3, archived=True)
    scipy = repo("scipy-feedstock", 4)
    core = team("core", "core", 1, description="Acme core team")
    return OrgData(
        org={
            "login": "acme", "id": 1, "node_id": "O_1", "name": "Acme", "company": None, "blog": "https://acme.example",
            "location": "Earth", "email": "hello@acme.example", "description": "Acme builds things", "type": "Organization",
            "billing_email": "admin@acme.example", "two_factor_requirement_enabled": True, "default_repository_permission": "read",
            "members_can_create_repositories": False, "members_can_create_public_repositories": False,
            "members_can_create_private_repositories": False, "members_can_fork_private_repositories": False,
            "web_commit_signoff_required": False, "has_organization_projects": True, "has_repository_projects": False,
            "plan": {"name": "free", "seats": 0},
        },
        admins=["alice", "bob"],
        members=["carol", "dave", "acme-bot", *[f"user{i:03d}" for i in range(extra_members)]],
        teams=[
            core,
            team("reviewers", "reviewers", 2, parent=core, description="Reviewers", privacy="closed"),
            team("numpy", "numpy", 3, description="Maintainers of numpy-feedstock"),
            team("zlib", "zlib", 4),
        ],
        team_members={
            "core": {"maintainer": ["alice"], "member": ["bob", "carol"]},
            "reviewers": {"maintainer": [], "member": ["dave"]},
            "numpy": {"maintainer": ["alice"], "member": ["carol", "Dave"]},
            "zlib": {"maintainer": [], "member": ["carol"]},
        },
        team_repos={
            "core": [granted(website, "admin"), granted(scipy, "write")],
            "reviewers": [granted(website, "triage")],
            "numpy": [granted(numpy, "write")],
            "zlib": [granted(zlib, "write")],
        },
        repos=[website, numpy, zlib, scipy, repo("tools", 5, description="Odds and ends", has_wiki=True)],
        secrets=[
            {"name": "DEPLOY_TOKEN", "created_at": "2024-01-10T14:59:22Z", "updated_at": "2024-01-11T14:59:22Z", "visibility": "selected",
             "selected_repositories_url": "https://api.github.com/orgs/acme/actions/secrets/DEPLOY_TOKEN/repositories",
             # no such field in GitHub's answer; the stand-in adds one to prove that nothing but names is copied
             "value": SECRET_VALUE},
            {"name": "ANACONDA_TOKEN", "created_at": "2024-01-10T14:59:22Z", "updated_at": "2024-01-11T14:59:22Z", "visibility": "private"},
        ],
        secret_repos={"DEPLOY_TOKEN": ["website"]},
    )


@dataclass
class Behaviour:
    rate_limit_at: int | None = None  # answer this request (1-based) with a primary rate limit
    die_at: int | None = None  # from this request on, drop the connection and stop serving
    forbidden: set[str] = field(default_factory=set)  # paths this token may not read (403)
    used_up_at: int | None = None  # answer this request normally, saying it was the hour's last
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class StandIn:
    """The server: ``url`` is its API root; ``data`` what it serves; ``behaviour`` how."""

    def __init__(self, data: OrgData):
        self.data, self.behaviour = data, Behaviour()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                stand_in.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.stopped = False

    def start(self) -> StandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.server.shutdown()
            self.server.server_close()

    # -- answers ---------------------------------------------------------------------------

    def route(self, path: str) -> tuple[int, Any]:
        d = self.data
        parts = path.strip("/").split("/")
        if parts[:2] != ["orgs", "acme"]:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        rest = parts[2:]
        if rest == []:
            return 200, d.org
        if rest == ["members"]:
            return 200, None  # a list; filtered by role in handle
        if rest == ["repos"]:
            return 200, d.repos
        if rest == ["teams"]:
            return 200, d.teams
        if len(rest) == 3 and rest[0] == "teams" and rest[1] in d.team_members and rest[2] in ("members", "repos"):
            return 200, None
        if rest == ["actions", "secrets"]:
            return 200, None
        if len(rest) == 4 and rest[:2] == ["actions", "secrets"] and rest[3] == "repositories" and rest[2] in d.secret_repos:
            return 200, None
        return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}

    def items(self, path: str, query: dict[str, list[str]]) -> tuple[list[Any], str | None]:
        """The full list at ``path`` and, for object answers, the key it sits under."""
        d = self.data
        rest = path.strip("/").split("/")[2:]
        role = query.get("role", ["all"])[0]
        if rest == ["members"]:
            logins = d.admins if role == "admin" else d.members if role == "member" else d.admins + d.members
            return [user(login, i) for i, login in enumerate(logins)], None
        if rest == ["repos"]:
            return d.repos, None
        if rest == ["teams"]:
            return d.teams, None
        if rest[0] == "teams" and rest[2] == "members":
            roles = d.team_members[rest[1]]
            logins = roles.get(role, []) if role != "all" else roles.get("maintainer", []) + roles.get("member", [])
            return [user(login, i) for i, login in enumerate(logins)], None
        if rest[0] == "teams" and rest[2] == "repos":
            return d.team_repos.get(rest[1], []), None
        if rest == ["actions", "secrets"]:
            return d.secrets, "secrets"
        return [{"id": 9000 + i, "name": name, "full_name": f"acme/{name}"} for i, name in enumerate(d.secret_repos[rest[2]])], "repositories"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        b = self.behaviour
        with b.lock:
            b.requests.append((request.path, {k.lower(): v for k, v in request.headers.items()}))
            n = len(b.requests)
        if b.die_at is not None and n >= b.die_at:
            request.close_connection = True
            threading.Thread(target=self.stop, daemon=True).start()
            return  # no answer at all: the connection just ends
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.send(request, 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        if b.rate_limit_at is not None and n == b.rate_limit_at:
            reset = int(time.time()) + 2  # 1 to 2 s ahead, in GitHub's whole seconds
            return self.send(request, 403, {"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                             {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000", "x-ratelimit-reset": str(reset), "x-ratelimit-resource": "core"})
        url = urlsplit(request.path)
        if url.path in b.forbidden:
            return self.send(request, 403, {"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest"})
        status, body = self.route(url.path)
        if status != 200 or body is not None:
            return self.send(request, status, body)
        query = parse_qs(url.query)
        everything, key = self.items(url.path, query)
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        last = max(1, -(-len(everything) // per_page))
        chunk = everything[(page - 1) * per_page : page * per_page]
        headers = {}
        links = []
        if page < last:
            links.append(f'<{self.page_url(url.path, query, page + 1)}>; rel="next"')
            links.append(f'<{self.page_url(url.path, query, last)}>; rel="last"')
        if page > 1:
            links.append(f'<{self.page_url(url.path, query, 1)}>; rel="first"')
            links.append(f'<{self.page_url(url.path, query, page - 1)}>; rel="prev"')
        if links:
            headers["link"] = ", ".join(links)
        self.send(request, 200, {"total_count": len(everything), key: chunk} if key else chunk, headers)

    def page_url(self, path: str, query: dict[str, list[str]], page: int) -> str:
        params = {k: v[0] for k, v in query.items()}
        params["page"] = str(page)
        return f"{self.url}{path}?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))

    def send(self, request: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, sort_keys=True).encode()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        if status == 200 and request.headers.get("If-None-Match") == etag:
            status, data = 304, b""
        request.send_response(status)
        request.send_header("content-type", "application/json; charset=utf-8")
        request.send_header("content-length", str(len(data)))
        request.send_header("x-github-api-version-selected", "2022-11-28")
        if status in (200, 304):
            used_up = self.behaviour.used_up_at == len(self.behaviour.requests)
            request.send_header("etag", etag)
            request.send_header("x-ratelimit-limit", "5000")
            request.send_header("x-ratelimit-remaining", "0" if used_up else "4999")
            request.send_header("x-ratelimit-reset", str(int(time.time()) + (2 if used_up else 3600)))
        for k, v in (headers or {}).items():
            request.send_header(k, v)
        request.end_headers()
        request.wfile.write(data)
