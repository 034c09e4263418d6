"""A stand-in for the GitHub API (a mock of GitHub, for tests and benchmarks only): a local HTTP
server on 127.0.0.1 answering the REST requests `condainfra import github`, the org reader and a
per-resource refresh make, in the shapes the REST documentation gives (field names as GitHub
spells them), the GraphQL subset of ``github_graphql``, and the ``DELETE``s an authoritative
``up`` sends. What makes the real API hard to read is there too: ``Link`` header pagination
honouring ``per_page``/``page``, ``ETag``/``If-None-Match`` answered with 304, a primary rate limit
(a 403 with ``x-ratelimit-remaining: 0`` and a ``x-ratelimit-reset`` a second or two ahead), and a
server that goes away in the middle of a run. It counts requests and GraphQL points.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .github_graphql import QueryError, answer
from .github_org import OrgData, user

TOKEN = "ghp_standInTokenNeverWritten0123456789"
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up is no error of the stand-in's
            super().handle_error(request, client_address)


@dataclass
class Behaviour:
    rate_limit_at: int | None = None  # answer this request (1-based) with a primary rate limit
    die_at: int | None = None  # from this request on, drop the connection and stop serving
    forbidden: set[str] = field(default_factory=set)  # paths this token may not read (403)
    used_up_at: int | None = None  # answer this request normally, saying it was the hour's last
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # paths of the DELETEs served
    points: int = 0  # GraphQL points spent
    queries: int = 0  # GraphQL queries answered
    lock: threading.Lock = field(default_factory=threading.Lock)


class StandIn:
    """The server: ``url`` is its API root; ``data`` what it serves; ``behaviour`` how."""

    def __init__(self, data: OrgData, token: str = TOKEN):
        self.data, self.behaviour, self.token = data, Behaviour(), token
        self._index: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's names)
                stand_in.handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                stand_in.handle(self, "POST")

            def do_DELETE(self) -> None:  # noqa: N802
                stand_in.handle(self, "DELETE")

        self.server = _Server(("127.0.0.1", 0), Handler)
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

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def by(self, what: str, items: list[dict[str, Any]], key: str) -> dict[str, Any]:
        """An index of ``items`` by ``key``, kept while the list is the same size (tests replace or append)."""
        stamp = (id(items), len(items))
        cached = self._index.get(what)
        if cached is None or cached[0] != stamp:
            cached = (stamp, {i[key]: i for i in items})
            self._index[what] = cached
        return cached[1]

    # -- answers ---------------------------------------------------------------------------

    def route(self, path: str) -> tuple[int, Any]:
        """A single object's answer; (200, None) for a list answered by ``items``."""
        d = self.data
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:1] == ["repos"] and len(parts) == 3 and parts[1] == d.login:
            found = self.by("repos", d.repos, "name").get(parts[2])
            return (200, found) if found else (404, NOT_FOUND)
        if parts[:2] != ["orgs", d.login]:
            return 404, NOT_FOUND
        rest = parts[2:]
        if rest == []:
            return 200, d.org
        if rest in (["members"], ["repos"], ["teams"], ["outside_collaborators"], ["actions", "secrets"]):
            return 200, None
        if len(rest) == 2 and rest[0] == "memberships":
            login = rest[1]
            role = "admin" if login in d.admins else "member" if login in d.members else None
            return (200, {"state": "active", "role": role, "user": user(login, 0)}) if role else (404, NOT_FOUND)
        if len(rest) == 2 and rest[0] == "teams":
            found = self.by("teams", d.teams, "slug").get(rest[1])
            return (200, found) if found else (404, NOT_FOUND)
        if len(rest) == 3 and rest[0] == "teams" and rest[1] in d.team_members and rest[2] in ("members", "repos"):
            return 200, None
        if len(rest) == 5 and rest[0] == "teams" and rest[2] == "repos":
            grant = next((g for g in d.team_repos.get(rest[1], []) if g["name"] == rest[4]), None)
            return (200, grant) if grant else (404, NOT_FOUND)
        if len(rest) == 4 and rest[:2] == ["actions", "secrets"] and rest[3] == "repositories" and rest[2] in d.secret_repos:
            return 200, None
        return 404, NOT_FOUND

    def items(self, path: str, query: dict[str, list[str]]) -> tuple[list[Any], str | None]:
        """The full list at ``path`` and, for object answers, the key it sits under."""
        d = self.data
        rest = path.strip("/").split("/")[2:]
        role = query.get("role", ["all"])[0]
        if rest == ["members"]:
            logins = d.admins if role == "admin" else d.members if role == "member" else d.admins + d.members
            return [user(login, i) for i, login in enumerate(logins)], None
        if rest == ["outside_collaborators"]:
            return [user(login, i) for i, login in enumerate(d.outside_collaborators)], None
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
        return [{"id": 9000 + i, "name": name, "full_name": f"{d.login}/{name}"} for i, name in enumerate(d.secret_repos[rest[2]])], "repositories"

    def delete(self, path: str) -> int:
        """What an authoritative ``up`` removes: an org member, an outside collaborator, a team's grant."""
        d = self.data
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] != ["orgs", d.login]:
            return 404
        rest = parts[2:]
        if len(rest) == 2 and rest[0] in ("members", "memberships") and rest[1] in d.admins + d.members:
            d.admins[:] = [x for x in d.admins if x != rest[1]]
            d.members[:] = [x for x in d.members if x != rest[1]]
            for roles in d.team_members.values():
                for logins in roles.values():
                    logins[:] = [x for x in logins if x != rest[1]]
            return 204
        if len(rest) == 2 and rest[0] == "outside_collaborators" and rest[1] in d.outside_collaborators:
            d.outside_collaborators.remove(rest[1])
            return 204
        if len(rest) == 5 and rest[0] == "teams" and rest[2] == "repos" and rest[1] in d.team_repos:
            before = len(d.team_repos[rest[1]])
            d.team_repos[rest[1]] = [g for g in d.team_repos[rest[1]] if g["name"] != rest[4]]
            return 204 if len(d.team_repos[rest[1]]) < before else 404
        return 404

    def graphql(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            document = json.loads(body)
            with self.behaviour.lock:
                body, points = answer(self.data, document["query"], document.get("variables") or {}, self.behaviour.points)
                self.behaviour.points += points
                self.behaviour.queries += 1
        except QueryError as exc:
            return self.send(request, 200, {"errors": [{"message": str(exc)}]})
        except (ValueError, KeyError, TypeError):
            return self.send(request, 400, {"message": "Problems parsing JSON"})
        self.send(request, 200, body, {"x-ratelimit-resource": "graphql"})

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        b = self.behaviour
        # the body is read whatever the answer: left unread, it would be taken for the next request
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        with b.lock:
            b.requests.append((request.path, {k.lower(): v for k, v in request.headers.items()}))
            n = len(b.requests)
        if b.die_at is not None and n >= b.die_at:
            request.close_connection = True
            threading.Thread(target=self.stop, daemon=True).start()
            return  # no answer at all: the connection just ends
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self.send(request, 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        if b.rate_limit_at is not None and n == b.rate_limit_at:
            reset = int(time.time()) + 2  # 1 to 2 s ahead, in GitHub's whole seconds
            return self.send(request, 403, {"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                             {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000", "x-ratelimit-reset": str(reset), "x-ratelimit-resource": "core"})
        url = urlsplit(request.path)
        if method == "POST":
            return self.graphql(request, body) if url.path == "/graphql" else self.send(request, 404, NOT_FOUND)
        if method == "DELETE":
            with b.lock:
                status = self.delete(url.path)
                if status == 204:
                    b.deleted.append(url.path)
            return self.send(request, status, None if status == 204 else NOT_FOUND)
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
        data = json.dumps(body, sort_keys=True).encode() if body is not None else b""
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        if status == 200 and request.headers.get("If-None-Match") == etag:
            status, data = 304, b""
        request.send_response(status)
        request.send_header("content-type", "application/json; charset=utf-8")
        request.send_header("content-length", str(len(data)))
        request.send_header("x-github-api-version-selected", "2022-11-28")
        if status in (200, 204, 304):
            used_up = self.behaviour.used_up_at == len(self.behaviour.requests)
            request.send_header("etag", etag)
            request.send_header("x-ratelimit-limit", "5000")
            request.send_header("x-ratelimit-remaining", "0" if used_up else "4999")
            request.send_header("x-ratelimit-reset", str(int(time.time()) + (2 if used_up else 3600)))
        for k, v in (headers or {}).items():
            request.send_header(k, v)
        request.end_headers()
        request.wfile.write(data)
