"""``sync-users``: Quetz users and roles from the org-as-code config.

* every feedstock maintainer (teams expanded) becomes a Quetz user with their GitHub identity, so
  their first GitHub sign-in lands on this user, and ``maintainer`` of the feedstock's packages;
* every org owner becomes ``owner`` of the channel.

Roles it granted are recorded; when the config drops someone, exactly those roles go at the next
sync, and the report says so. Roles given by hand in Quetz are never touched.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from ..config.quetz import GITHUB_TOKEN_ENV as TOKEN_ENV
from ..output import write_atomic
from . import quetz_adapter as quetz
from . import tables
from .service import feedstock_outputs
from .settings import DashboardSettings, channel_org
from .sources.orgconfig import load_org_people


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    granted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    missing_packages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failed: bool = False  # nothing could be synced

    def lines(self) -> list[str]:
        out = [f"created user {u}" for u in self.created]
        out += [f"granted {g}" for g in self.granted]
        out += [f"removed {r}" for r in self.removed]
        out += [f"skipped {u}: no GitHub id known (add it to github_ids, or set {TOKEN_ENV} to look it up)" for u in self.unresolved]
        out += [f"problem: {p}" for p in self.problems]
        if self.missing_packages:
            out.append(f"{len(self.missing_packages)} declared package(s) not in the channel yet: roles follow on their first upload")
        out.append(f"sync-users: {len(self.created)} user(s) created, {len(self.granted)} role(s) granted, {len(self.removed)} removed, {len(self.unresolved)} login(s) skipped")
        return out


def _load_ids(path: str, report: SyncReport) -> dict[str, int]:
    if not path or not Path(path).is_file():
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.problems.append(f"{path}: not a readable JSON object of login -> GitHub id ({exc})")
        return {}
    if not isinstance(data, dict):
        report.problems.append(f"{path}: expected an object of login -> GitHub id")
        return {}
    return {str(k).lower(): v for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool) and v > 0}


def _lookup(api: str, logins: list[str], report: SyncReport) -> dict[str, int]:
    """GitHub ids through the REST API (`GET /users/{login}`); only with a token, never printed."""
    token = os.environ.get(TOKEN_ENV)
    if not logins or not token:
        return {}
    found = {}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    with httpx.Client(base_url=api, headers=headers, timeout=20) as client:
        for login in logins:
            try:
                response = client.get(f"/users/{login}")
            except httpx.TransportError as exc:
                report.problems.append(f"GitHub API not reachable ({type(exc).__name__}); {len(logins) - len(found)} login(s) left unresolved")
                break
            if response.status_code == 200 and isinstance(response.json().get("id"), int):
                found[login] = response.json()["id"]
            elif response.status_code != 404:
                report.problems.append(f"GitHub API: HTTP {response.status_code} for a user lookup")
                break
    return found


def sync_users(db: Session, settings: DashboardSettings) -> SyncReport:
    report = SyncReport()
    if not settings.project_root:
        report.problems.append("no project_root configured")
        report.failed = True
        return report
    people = load_org_people(Path(settings.project_root))
    report.problems += people.problems
    channel, org = settings.channel, channel_org(settings)
    if not quetz.channel_exists(db, channel):
        report.problems.append(f"channel {channel!r} does not exist in Quetz")
        report.failed = True
        return report
    in_channel = quetz.packages_in(db, channel)

    want_pkg: dict[tuple[str, str], str] = {}
    outputs = feedstock_outputs(db)  # what the refresh recorded: one query, not one per feedstock
    for feedstock in (f for (owner_org, _), f in people.feedstocks.items() if owner_org == org):
        for package in outputs.get((org, feedstock.name), [feedstock.name]):
            if package not in in_channel:
                report.missing_packages.append(package)
                continue
            for login in feedstock.maintainers:
                want_pkg[(package, login)] = quetz.MAINTAINER
    want_channel = {login.lower(): quetz.OWNER for login in people.owners.get(org, [])}

    ids_path = settings.github_ids
    ids = _load_ids(ids_path, report)
    logins = sorted({l for _, l in want_pkg} | set(want_channel))
    known = quetz.usernames(db)
    unknown = [l for l in logins if l not in ids and l not in known]
    looked_up = _lookup(settings.github_api, unknown, report)
    if looked_up and ids_path:
        ids.update(looked_up)
        write_atomic(Path(ids_path), json.dumps(dict(sorted(ids.items())), indent=1) + "\n")
    ids.update(looked_up)

    usable = set()
    for login in logins:
        if login in known:
            quetz.create_user(db, login, ids.get(login))  # adds the GitHub identity when it was missing
            usable.add(login)
        elif login in ids:
            quetz.create_user(db, login, ids[login], f"https://avatars.githubusercontent.com/u/{ids[login]}")
            report.created.append(login)
            usable.add(login)
        else:
            report.unresolved.append(login)

    granted = {(g.channel, g.package, g.login): g for g in db.query(tables.GrantedRole).filter(tables.GrantedRole.channel == channel)}
    current_pkg = quetz.package_roles(db)
    current_channel = quetz.channel_roles(db, channel)
    desired = {(channel, p, l): r for (p, l), r in want_pkg.items() if l in usable}
    desired |= {(channel, "", l): r for l, r in want_channel.items() if l in usable}
    for key, role in sorted(desired.items()):
        _, package, login = key
        have = current_channel.get(login) if not package else current_pkg.get(key)
        if have in (role, quetz.OWNER):
            continue  # already has it (or more), maybe by hand: then it is not ours to remove later
        if package:
            quetz.set_package_role(db, channel, package, login, role)
        else:
            quetz.set_channel_role(db, channel, login, role)
        db.merge(tables.GrantedRole(channel=channel, package=package, login=login, role=role, previous_role=have))
        report.granted.append(f"{role} of {channel}{'/' + package if package else ''} to {login}")
    for key, grant in sorted(granted.items()):
        if key in desired:
            continue
        _, package, login = key
        have = current_channel.get(login) if not package else current_pkg.get(key)
        if have == grant.role:
            # back to what the user had before the grant: a role given by hand survives
            restore = grant.previous_role
            if package:
                quetz.set_package_role(db, channel, package, login, restore)
            else:
                quetz.set_channel_role(db, channel, login, restore)
            where = f"{channel}{'/' + package if package else ''}"
            report.removed.append(f"{grant.role} of {where} from {login}" + (f" (back to {restore})" if restore else ""))
        db.delete(grant)
    db.commit()
    return report
