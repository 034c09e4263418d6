"""Runner access from the lists conda-forge keeps today, into ``stacks/runners/runners.yaml``.

Three formats are read:

* cirun's ``.access.yml`` (conda-forge/.cirun), as written there (cirun's access-control file, kept
  up to date by cirun's API when conda-smithy / admin-requests grant access)::

      version: 1
      policies:
        - id: numpy-feedstock-policy
          repo: numpy-feedstock
          roles: [admin, maintain, write]
          pull_request: true
          users_from_json: https://raw.githubusercontent.com/Quansight/open-gpu-server/main/access/conda-forge-users.json
          users: [alice]            # and/or a list of logins; cirun also knows `teams`
      access_control:
        - resource: cirun-openstack-gpu-large   # may repeat; its policies add up
          policies: [numpy-feedstock-policy]

  or the normalised transcription of it (``cirun_access.json``): ``policies`` maps a policy name
  to ``{repo, pull_request, allowed}`` where ``allowed`` is a list of logins or
  ``users_from_json:<path>``; ``access_control`` is the same list. Both give the same groups.
  The format is told by the content: ``policies`` as a list is cirun's own, as a mapping the
  transcription; a file that starts with ``{`` or ends in ``.json`` is read as JSON, anything else
  as YAML with its lines, so that bad input is reported as ``file:line``.
* open-gpu-server's ``access/conda-forge-users.json``: ``{"users": [{"github": login, "id": n}]}``,
  the list that ``users_from_json`` policies point at.
* admin-requests' ``.access_control.yml``: ``version: 1``,
  ``access_control: {resource: [{feedstock: <name>-feedstock}] or null}``.

Each cirun resource (a runner label such as ``cirun-openstack-gpu-large``) becomes a runner
group of that name; the repositories its policies name become the group's selected
repositories. A repository the org does not declare is reported by name and left out: the
importer never invents a feedstock. GitHub teams in a policy are reported, not expanded (their
members are in none of these files).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ..config.loader import OrgDeclaration
from ..config.models import GITHUB_LOGIN, REPO_NAME
from ..config.runners import RUNNERS_FILE, GROUP_NAME, parse_runners, repository_visibility
from ..config.stackfile import open_stack_file
from ..config.yamlfile import YamlDocument, load_yaml
from ..errors import ConfigError, CondainfraError, printable
from ..output import write_atomic
from .sources import parse_json, read_source

RUNNER_RESOURCE_PREFIX = "cirun-"  # admin-requests also lists non-runner resources (travis)
USERS_FROM_JSON = "users_from_json:"
OPEN_GPU_USERS = "conda-forge-users.json"  # what cirun's users_from_json policies name, whatever the local copy is called
SCHEMA_COMMENT = "# yaml-language-server: $schema=../../docs/schemas/runners.schema.json\n"


@dataclass
class ImportedGroup:
    repositories: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    # as read: the users a policy allows, by its repository (they come along only with a kept one)
    users_of: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class ImportReport:
    groups: dict[str, ImportedGroup] = field(default_factory=dict)
    # (group, repository): named by a policy, not declared by the org, left out
    undeclared: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # anything else left out, with why

    def lines(self) -> list[str]:
        out = [f"group {name}: {len(g.repositories)} repositories, {len(g.users)} users" for name, g in sorted(self.groups.items())]
        by_repo: dict[str, list[str]] = {}
        for group, repo in self.undeclared:
            by_repo.setdefault(repo, []).append(group)
        out += [f"left out: {_shown(repo)} (in {', '.join(_shown(g) for g in groups)}): not declared in the org's repositories or feedstocks" for repo, groups in sorted(by_repo.items())]
        out += [f"skipped: {why}" for why in self.skipped]
        return out


class _Source:
    """One list as read, and how its errors name the spot: ``file:line: where: ...`` for YAML
    (read by the project's loader, which keeps every value's line), ``file: where: ...`` for JSON."""

    def __init__(self, path: Path, data: Any, doc: YamlDocument | None = None):
        self.path, self.data, self.doc = path, data, doc

    def error(self, loc: tuple[Any, ...], message: str) -> CondainfraError:
        where = ".".join(str(part) for part in loc) or "top level"
        if self.doc is not None:
            return ConfigError([self.doc.issue(loc, f"{where}: {message}")])
        return CondainfraError(printable(f"{self.path}: {where}: {message}"))  # escaped as ConfigIssue escapes a YAML one

    def expect(self, value: Any, kind: type, loc: tuple[Any, ...]) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(loc, f"expected a {'mapping' if kind is dict else 'list' if kind is list else kind.__name__}")
        return value

    def strings(self, value: Any, loc: tuple[Any, ...]) -> list[str]:
        for i, item in enumerate(self.expect(value, list, loc)):
            self.expect(item, str, (*loc, i))
        return value


def _shown(name: str) -> str:
    """A name from a list as it goes into a report line: as is when it is a plain name, quoted
    (newlines and all escaped) when not, so that a hostile value cannot forge report lines."""
    return name if GROUP_NAME.fullmatch(name) else repr(name)


def _is_json(path: Path, raw: bytes) -> bool:
    return path.suffix.lower() == ".json" or raw.lstrip().startswith(b"{")


def _read(path: Path) -> _Source:
    raw = read_source(path)
    if _is_json(path, raw):
        return _Source(path, parse_json(raw, path))
    doc, issues = load_yaml(path, str(path))
    if issues:
        raise ConfigError(issues)
    assert doc is not None
    return _Source(path, doc.data, doc)


def read_open_gpu_users(path: Path) -> list[str]:
    src = _read(path)
    users = src.expect(src.expect(src.data, dict, ()).get("users"), list, ("users",))
    return [src.expect(src.expect(u, dict, ("users", i)).get("github"), str, ("users", i, "github")) for i, u in enumerate(users)]


@dataclass
class _Policy:
    repo: str
    users: list[str] = field(default_factory=list)
    user_lists: list[str] = field(default_factory=list)  # what users_from_json names: a URL or a path
    teams: list[str] = field(default_factory=list)


def _normalised_policies(src: _Source, policies: dict[str, Any]) -> dict[str, _Policy]:
    """``policies: {name: {repo, pull_request, allowed}}`` (the transcription in cirun_access.json)."""
    out: dict[str, _Policy] = {}
    for name, policy in policies.items():
        policy = src.expect(policy, dict, ("policies", name))
        found = _Policy(src.expect(policy.get("repo"), str, ("policies", name, "repo")))
        allowed = policy.get("allowed")
        if isinstance(allowed, str) and allowed.startswith(USERS_FROM_JSON):
            found.user_lists.append(allowed.removeprefix(USERS_FROM_JSON))
        elif isinstance(allowed, list) and all(isinstance(u, str) for u in allowed):
            found.users = allowed
        else:
            raise src.error(("policies", name, "allowed"), f"expected a list of logins or '{USERS_FROM_JSON}<path>'")
        out[str(name)] = found
    return out


def _cirun_policies(src: _Source, policies: list[Any]) -> dict[str, _Policy]:
    """``policies: [{id, repo, roles, pull_request, users, users_from_json, teams}]`` (cirun's own)."""
    out: dict[str, _Policy] = {}
    for i, policy in enumerate(policies):
        loc = ("policies", i)
        policy = src.expect(policy, dict, loc)
        name = src.expect(policy.get("id"), str, (*loc, "id"))
        if name in out:
            raise src.error((*loc, "id"), f"policy {name!r} is defined twice")
        found = _Policy(src.expect(policy.get("repo"), str, (*loc, "repo")))
        if "pull_request" in policy:
            src.expect(policy["pull_request"], bool, (*loc, "pull_request"))
        if "roles" in policy:
            src.strings(policy["roles"], (*loc, "roles"))
        if "users" in policy:
            found.users = src.strings(policy["users"], (*loc, "users"))
        if "users_from_json" in policy:  # one URL as written today; the API takes a list
            lists = policy["users_from_json"]
            found.user_lists = [lists] if isinstance(lists, str) else src.strings(lists, (*loc, "users_from_json"))
        if "teams" in policy:
            found.teams = src.strings(policy["teams"], (*loc, "teams"))
        if not (found.users or found.user_lists or found.teams):
            raise src.error(loc, f"policy {name!r}: expected users, users_from_json or teams")
        out[name] = found
    return out


def _user_list_name(source: str) -> str | None:
    """The shared list a ``users_from_json`` source names, by file name; a URL only when it is
    open-gpu-server's own file on GitHub (any other place could list anyone)."""
    if "://" not in source:
        return Path(source).name
    url = urlsplit(source)
    parts = url.path.strip("/").split("/")
    if (
        url.scheme == "https" and url.hostname == "raw.githubusercontent.com" and not url.query and len(parts) >= 5
        and [p.lower() for p in parts[:2]] == ["quansight", "open-gpu-server"] and parts[-2:] == ["access", OPEN_GPU_USERS]
    ):
        return OPEN_GPU_USERS
    return None


def read_cirun(path: Path, shared_lists: dict[str, list[str]], report: ImportReport) -> dict[str, ImportedGroup]:
    """``shared_lists``: the user lists that ``users_from_json`` policies may name, by file name."""
    src = _read(path)
    data = src.expect(src.data, dict, ())
    if "version" in data and (isinstance(data["version"], bool) or data["version"] not in (1, "1")):
        raise src.error(("version",), f"version {data['version']!r} of cirun's access file is not known (expected 1)")
    raw = data.get("policies")
    if isinstance(raw, list):
        policies = _cirun_policies(src, raw)
    elif isinstance(raw, dict):
        policies = _normalised_policies(src, raw)
    else:
        raise src.error(("policies",), "expected a list (cirun's .access.yml) or a mapping (its normalised form)")
    groups: dict[str, ImportedGroup] = {}
    for i, entry in enumerate(src.expect(data.get("access_control"), list, ("access_control",))):
        entry = src.expect(entry, dict, ("access_control", i))
        resource = src.expect(entry.get("resource"), str, ("access_control", i, "resource"))
        group = groups.setdefault(resource, ImportedGroup())
        for j, name in enumerate(src.expect(entry.get("policies"), list, ("access_control", i, "policies"))):
            policy = policies.get(name) if isinstance(name, str) else None
            if policy is None:
                src.expect(name, str, ("access_control", i, "policies", j))
                report.skipped.append(f"{_shown(resource)}: policy {name!r} is not defined in {path.name}")
                continue
            group.repositories.add(policy.repo)
            users = group.users_of.setdefault(policy.repo, set())
            users.update(policy.users)
            for source in policy.user_lists:
                key = _user_list_name(source)
                shared = shared_lists.get(key) if key else None
                if shared is not None:
                    users.update(shared)
                    continue
                missing = (f"user list {source!r} (named by cirun policies) was not given" if key
                           else f"user list {source!r} (named by cirun policies) is not open-gpu-server's {OPEN_GPU_USERS}: its users are left out")
                if missing not in report.skipped:
                    report.skipped.append(missing)
            if policy.teams:
                teams = f"policy {name!r}: teams {', '.join(repr(t) for t in policy.teams)} are not imported (their members are in none of these lists)"
                if teams not in report.skipped:
                    report.skipped.append(teams)
    return groups


def read_admin_requests(path: Path) -> dict[str, ImportedGroup]:
    src = _read(path)
    data = src.expect(src.data, dict, ())
    groups: dict[str, ImportedGroup] = {}
    for resource, entries in src.expect(data.get("access_control"), dict, ("access_control",)).items():
        group = groups.setdefault(str(resource), ImportedGroup())
        for i, entry in enumerate(src.expect(entries or [], list, ("access_control", resource))):
            repo = src.expect(entry, dict, ("access_control", resource, i)).get("feedstock")
            group.repositories.add(src.expect(repo, str, ("access_control", resource, i, "feedstock")))
    return groups


def collect(
    org: OrgDeclaration, cirun: Path | None = None, open_gpu_users: Path | None = None, admin_requests: Path | None = None
) -> ImportReport:
    """Every runner resource the lists name, with the repositories the org declares."""
    report = ImportReport()
    shared = {OPEN_GPU_USERS: read_open_gpu_users(open_gpu_users)} if open_gpu_users else {}
    sources = [read_cirun(cirun, shared, report)] if cirun else []
    if admin_requests:
        sources.append(read_admin_requests(admin_requests))
    for source in sources:
        for resource, found in source.items():
            if not resource.startswith(RUNNER_RESOURCE_PREFIX) or not GROUP_NAME.fullmatch(resource):
                report.skipped.append(f"{_shown(resource)}: not a runner resource")
                continue
            group = report.groups.setdefault(resource, ImportedGroup())
            for repo in sorted(found.repositories):
                if not (REPO_NAME.fullmatch(repo) and repository_visibility(org, repo) is not None):
                    if (resource, repo) not in report.undeclared:
                        report.undeclared.append((resource, repo))
                    continue
                group.repositories.add(repo)
                for login in sorted(found.users_of.get(repo, ())):
                    if GITHUB_LOGIN.fullmatch(login):
                        group.users.add(login)
                    elif f"{resource}: {login!r} is not a GitHub login" not in report.skipped:
                        report.skipped.append(f"{resource}: {login!r} is not a GitHub login")
    report.undeclared.sort()
    return report


def group_config(org: OrgDeclaration, group: ImportedGroup) -> dict[str, Any]:
    repos = sorted(group.repositories)
    public = any(repository_visibility(org, r) == "public" for r in repos)
    out: dict[str, Any] = {"visibility": "selected", "repositories": repos, "allows_public_repositories": public}
    if group.users:
        out["users"] = sorted(group.users, key=str.lower)
    return out


def write_runners_config(root: Path, orgs: dict[str, OrgDeclaration], org: str, report: ImportReport, out: Path | None = None) -> Path:
    """Replace the org's imported groups in the runners config (other groups, the pools and the AWS
    settings stay as they are), check the result like `validate` does, and only then write it."""
    if org not in orgs:
        raise CondainfraError(f"org {org!r} is not declared under stacks/")
    opened = open_stack_file(root, RUNNERS_FILE)
    if opened is None:
        raise CondainfraError(f"{RUNNERS_FILE}: not found; write its region and network first (docs/runners.md)")
    doc, issues = opened
    if not isinstance(doc.data, dict):
        raise ConfigError(issues) if issues else CondainfraError(f"{RUNNERS_FILE}: expected a mapping")
    data = doc.data
    orgs_section = data.get("orgs") or {}
    entry = orgs_section.get(org) or {} if isinstance(orgs_section, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("groups") or {}, dict):
        raise CondainfraError(f"{RUNNERS_FILE}: orgs.{org}.groups: expected a mapping")
    groups = dict(entry.get("groups") or {})
    for name, group in sorted(report.groups.items()):
        groups[name] = group_config(orgs[org], group)
    orgs_section[org] = {**entry, "groups": groups}
    data["orgs"] = orgs_section
    text = SCHEMA_COMMENT + "# Runner groups imported by `condainfra import access`; pools and network by hand.\n"
    text += yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
    target = out or root / RUNNERS_FILE
    with tempfile.TemporaryDirectory() as tmp:
        check = Path(tmp) / "runners.yaml"
        check.write_text(text, encoding="utf-8")
        parsed, problems = load_yaml(check, str(target))
        if parsed is not None:
            problems += parse_runners(parsed, orgs)[1]
    if problems:
        raise ConfigError(problems)
    write_atomic(target, text)
    return target
