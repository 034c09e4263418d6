"""Runner access from the lists conda-forge keeps today, into ``stacks/runners/runners.yaml``.

Three formats are read:

* cirun's ``.access.yml`` (conda-forge/.cirun), as a normalised transcription: ``policies``
  maps a policy name to ``{repo, pull_request, allowed}`` where ``allowed`` is a list of logins
  or ``users_from_json:<path>``; ``access_control`` lists ``{resource, policies}``.
* open-gpu-server's ``access/conda-forge-users.json``: ``{"users": [{"github": login, "id": n}]}``,
  the list that ``users_from_json:`` policies point at.
* admin-requests' ``.access_control.yml``: ``access_control: {resource: [{feedstock: repo}]}``.

Each cirun resource (a runner label such as ``cirun-openstack-gpu-large``) becomes a runner
group of that name; the repositories its policies name become the group's selected
repositories. A repository the org does not declare is reported by name and left out: the
importer never invents a feedstock.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config.loader import OrgDeclaration
from ..config.models import GITHUB_LOGIN, REPO_NAME
from ..config.runners import RUNNERS_FILE, GROUP_NAME, parse_runners, repository_visibility
from ..config.yamlfile import load_yaml
from ..errors import ConfigError, CondainfraError
from ..output import write_atomic

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
        out += [f"left out: {repo} (in {', '.join(groups)}): not declared in the org's repositories or feedstocks" for repo, groups in sorted(by_repo.items())]
        out += [f"skipped: {why}" for why in self.skipped]
        return out


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CondainfraError(f"{path}: cannot read: {exc}") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CondainfraError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None


def _expect(value: Any, kind: type, path: Path, where: str) -> Any:
    if not isinstance(value, kind):
        raise CondainfraError(f"{path}: {where}: expected a {'mapping' if kind is dict else 'list' if kind is list else kind.__name__}")
    return value


def read_open_gpu_users(path: Path) -> list[str]:
    data = _expect(_read(path), dict, path, "top level")
    users = _expect(data.get("users"), list, path, "users")
    return [_expect(_expect(u, dict, path, f"users.{i}").get("github"), str, path, f"users.{i}.github") for i, u in enumerate(users)]


def read_cirun(path: Path, shared_lists: dict[str, list[str]], report: ImportReport) -> dict[str, ImportedGroup]:
    """``shared_lists``: the user lists that ``users_from_json:`` policies may name, by file name."""
    data = _expect(_read(path), dict, path, "top level")
    policies = _expect(data.get("policies"), dict, path, "policies")
    groups: dict[str, ImportedGroup] = {}
    for i, entry in enumerate(_expect(data.get("access_control"), list, path, "access_control")):
        entry = _expect(entry, dict, path, f"access_control.{i}")
        resource = _expect(entry.get("resource"), str, path, f"access_control.{i}.resource")
        group = groups.setdefault(resource, ImportedGroup())
        for name in _expect(entry.get("policies"), list, path, f"access_control.{i}.policies"):
            policy = policies.get(name)
            if not isinstance(policy, dict):
                report.skipped.append(f"{resource}: policy {name!r} is not defined in {path.name}")
                continue
            repo = _expect(policy.get("repo"), str, path, f"policies.{name}.repo")
            group.repositories.add(repo)
            users = group.users_of.setdefault(repo, set())
            allowed = policy.get("allowed")
            if isinstance(allowed, str) and allowed.startswith(USERS_FROM_JSON):
                source = allowed.removeprefix(USERS_FROM_JSON)
                shared = shared_lists.get(Path(source).name)
                if shared is None:
                    missing = f"user list {source!r} (named by cirun policies) was not given"
                    if missing not in report.skipped:
                        report.skipped.append(missing)
                else:
                    users.update(shared)
            elif isinstance(allowed, list) and all(isinstance(u, str) for u in allowed):
                users.update(allowed)
            else:
                raise CondainfraError(f"{path}: policies.{name}.allowed: expected a list of logins or '{USERS_FROM_JSON}<path>'")
    return groups


def read_admin_requests(path: Path) -> dict[str, ImportedGroup]:
    data = _expect(_read(path), dict, path, "top level")
    groups: dict[str, ImportedGroup] = {}
    for resource, entries in _expect(data.get("access_control"), dict, path, "access_control").items():
        group = groups.setdefault(str(resource), ImportedGroup())
        for i, entry in enumerate(_expect(entries or [], list, path, f"access_control.{resource}")):
            repo = _expect(entry, dict, path, f"access_control.{resource}.{i}").get("feedstock")
            group.repositories.add(_expect(repo, str, path, f"access_control.{resource}.{i}.feedstock"))
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
            if not resource.startswith(RUNNER_RESOURCE_PREFIX) or not GROUP_NAME.match(resource):
                report.skipped.append(f"{resource}: not a runner resource")
                continue
            group = report.groups.setdefault(resource, ImportedGroup())
            for repo in sorted(found.repositories):
                if not (REPO_NAME.match(repo) and repository_visibility(org, repo) is not None):
                    if (resource, repo) not in report.undeclared:
                        report.undeclared.append((resource, repo))
                    continue
                group.repositories.add(repo)
                for login in sorted(found.users_of.get(repo, ())):
                    if GITHUB_LOGIN.match(login):
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
    source = root / RUNNERS_FILE
    if not source.is_file():
        raise CondainfraError(f"{RUNNERS_FILE}: not found; write its region and network first (docs/runners.md)")
    doc, issues = load_yaml(source, str(RUNNERS_FILE))
    if doc is None or not isinstance(doc.data, dict):
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
    target = out or source
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
