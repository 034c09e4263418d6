"""Where the configuration still declares a login: the places an org membership's removal would not reach.

Deleting a membership removes the user from every team of the org on GitHub; the next `up` then invites
them back through the teams still declaring them. Either the intent is offboarding, and every place must
go too, or it is not, and the login stays in `members:`. The places are each file that grants a login
something: org teams (org.yaml), feedstock maintainers (feedstock files, which sync-users also turns into
the maintainer's Quetz roles) and runner groups (stacks/runners/runners.yaml).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ..config.checks import maintainer_kind
from ..config.runners import RUNNERS_FILE
from ..project import Project


class _Lines:
    """Files read at most once, for the line a login sits on."""

    def __init__(self, root: Path):
        self.root = root
        self._text: dict[str, list[str]] = {}

    def lines(self, path: str) -> list[str]:
        if path not in self._text:
            try:
                self._text[path] = (self.root / path).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                self._text[path] = []
        return self._text[path]

    def find(self, path: str, start: int, login: str, stop_at_top_level: bool = True) -> int:
        """The first line from ``start`` (1-based) naming ``login`` as a word, within the entry that starts
        there (up to the next top-level key); ``start`` when none does."""
        word = re.compile(rf"(?<![A-Za-z0-9-]){re.escape(login)}(?![A-Za-z0-9-])", re.I)
        lines = self.lines(path)
        for number in range(start, len(lines) + 1):
            line = lines[number - 1]
            if number > start and stop_at_top_level and line[:1] not in ("", " ", "\t", "-", "#"):
                break
            if word.search(line.split("#", 1)[0]):
                return number
        return start


def declared_places(project: Project, org: str, logins: Iterable[str]) -> dict[str, list[str]]:
    """login (lower case) -> each place that still declares it, as ``file:line: what``, in file order."""
    wanted = {login.lower() for login in logins}
    places: dict[str, list[str]] = {login: [] for login in wanted}
    decl = project.orgs.get(org)
    if not wanted or decl is None:
        return places
    files = _Lines(project.root)
    source = decl.source
    for name, team in decl.config.teams.items():
        for role in ("maintainers", "members"):
            for i, login in enumerate(getattr(team, role)):
                if login.lower() in wanted:
                    places[login.lower()].append(f"{source.path}:{source.line(('teams', name, role, i))}: team {name} ({role[:-1]})")
    for name, feedstock in sorted(decl.feedstocks.items()):
        for login in feedstock.maintainers:
            if login.lower() in wanted and maintainer_kind(login, org) == "login":
                where = decl.feedstock_origin.get(name)
                at = f"{where.path}:{files.find(where.path, where.line, login)}" if where else f"feedstock {name}"
                places[login.lower()].append(f"{at}: maintainer of feedstock {name} (and so of its package in Quetz, through sync-users)")
    runners = project.standalone.get("runners")
    org_runners = runners.config.orgs.get(org) if runners is not None else None
    if org_runners is not None:
        path = str(RUNNERS_FILE)
        for group_name, group in org_runners.groups.items():
            for login in group.users:
                if login.lower() in wanted:
                    start = next((i + 1 for i, line in enumerate(files.lines(path)) if re.match(rf"\s+{re.escape(group_name)}:", line)), 1)
                    line = files.find(path, start, login, stop_at_top_level=False)
                    places[login.lower()].append(f"{path}:{line}: user of runner group {group_name}")
    return places
