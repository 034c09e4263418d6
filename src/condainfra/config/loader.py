"""Load ``stacks/<org>/org.yaml`` and ``stacks/<org>/feedstocks/*.yaml`` into typed models.

All problems are collected, each with its file and line, and raised together as
one :class:`ConfigError`: a reviewer fixing a pull request wants every error at
once, not one per CI run.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError, ConfigIssue, display_path
from .checks import check_org
from .declaration import OrgDeclaration, Where
from .models import FEEDSTOCK_NAME, Feedstock, FeedstockEntry, OrgConfig, check_maintainer
from .yamlfile import YamlDocument, declared, load_yaml, not_a_file

ORG_FILE = "org.yaml"
FEEDSTOCK_DIR = "feedstocks"
# A file written this much later than another holds the newer of two copies of a feedstock; closer than
# this (a fresh clone writes every file within moments) the copy read second is taken as the new one.
NEWER = 5.0


def pydantic_issues(doc: YamlDocument, exc: ValidationError, prefix: tuple = (), hidden: str | None = None) -> list[ConfigIssue]:
    """One issue per pydantic error, located in the YAML. ``hidden`` names a model field
    the file does not spell out (a feedstock written as a plain list of maintainers)."""
    issues = []
    for err in exc.errors(include_url=False):
        loc = err["loc"][1:] if hidden and err["loc"][:1] == (hidden,) else err["loc"]
        loc = tuple(p for p in (*prefix, *loc) if p != "[key]")
        where = ".".join(str(p) for p in loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            message = f"unknown key {str(loc[-1])!r}"
            where = ".".join(str(p) for p in loc[:-1])
        elif kind == "missing":
            message = f"missing required key {str(loc[-1])!r}"
            where = ".".join(str(p) for p in loc[:-1])
        else:
            message = err["msg"].removeprefix("Value error, ")
        issues.append(doc.issue(loc, f"{where}: {message}" if where else message))
    return issues


def validate_model(model: type[BaseModel], doc: YamlDocument, data: Any, prefix: tuple = (), hidden: str | None = None):
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, pydantic_issues(doc, exc, prefix, hidden)


def validate_partially(model: type[BaseModel], doc: YamlDocument, data: Any):
    """Like validate_model; on bad input, also the model of what remains once every bad value is dropped
    (a list item, a key, or the entry holding a missing key), so that the cross-file checks still run and
    one `validate` reports every problem. Only ever used to find more problems: never compiled."""
    found, issues = validate_model(model, doc, data)
    if found is not None:
        return found, issues, True
    pruned = copy.deepcopy(data)
    # each round removes at least one value, so this ends; a dropped value can only expose a missing
    # key above it, which the next round drops in turn
    while True:
        try:
            return model.model_validate(pruned), issues, False
        except ValidationError as exc:
            paths = {_droppable(err["loc"], err["type"]) for err in exc.errors(include_url=False)}
            if None in paths:
                break
            # deepest and last first, so that dropping one list item does not shift the next one's index
            dropped = [_drop(pruned, p) for p in sorted(paths, reverse=True, key=_sort_key)]
            if not any(dropped):
                break
    return None, issues, False


def _sort_key(loc: tuple) -> list[str]:
    return [str(x).zfill(9) if isinstance(x, int) else str(x) for x in loc]


def _droppable(loc: tuple, kind: str) -> tuple | None:
    if "[key]" in loc:
        loc = loc[: loc.index("[key]")]
    elif kind == "missing":
        loc = loc[:-1]
    # a required top-level key cannot be made up; anything else, an unknown top-level key included, can go
    return tuple(loc) if loc else None


def _drop(data: Any, loc: tuple) -> bool:
    for part in loc[:-1]:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False
    last = loc[-1]
    if isinstance(data, dict) and last in data:
        del data[last]
        return True
    if isinstance(data, list) and isinstance(last, int) and 0 <= last < len(data):
        del data[last]
        return True
    return False


def load_org(org_dir: Path, root: Path, known: OrgDeclaration | None = None) -> tuple[OrgDeclaration | None, list[ConfigIssue]]:
    org_file = org_dir / ORG_FILE
    doc, issues = load_yaml(org_file, display_path(org_file, root))
    if doc is None:
        return None, issues
    if not isinstance(doc.data, dict):
        return None, [*issues, doc.issue((), "expected a mapping of org settings")]
    config, model_issues, _ = validate_partially(OrgConfig, doc, doc.data)
    issues += model_issues
    if config is None:
        return None, issues
    if config.org != org_dir.name:
        issues.append(doc.issue(("org",), f"org: {config.org!r} does not match its folder name {org_dir.name!r}"))

    feedstocks: dict[str, Feedstock] = {}
    origin: dict[str, Where] = {}
    docs: dict[str, YamlDocument] = {}
    raw: dict[str, Any] = {}
    written: dict[str, float] = {}  # when each feedstock file was last written, to tell a new entry from the old
    feedstock_files = sorted((org_dir / FEEDSTOCK_DIR).glob("*.yaml")) if (org_dir / FEEDSTOCK_DIR).is_dir() else []
    for path in feedstock_files:
        fdoc, file_issues = load_yaml(path, display_path(path, root), strings_only=True)
        issues += file_issues
        if fdoc is None:
            continue
        if fdoc.data is None or fdoc.data == "":  # "" is how the string-only reader sees a bare `---`
            # an emptied file (a bot's failed write, a bad merge) would plan away every feedstock it held
            issues.append(ConfigIssue(fdoc.path, 1, "empty feedstock file: it declares no feedstocks; delete it if that is meant"))
            continue
        if config.feedstocks is None:
            issues.append(fdoc.issue((), f"feedstocks are declared but {org_dir.name}/{ORG_FILE} has no 'feedstocks:' section"))
            continue
        if not isinstance(fdoc.data, dict):
            issues.append(fdoc.issue((), "expected a mapping of feedstock name to maintainers"))
            continue
        docs[fdoc.path] = fdoc
        written[fdoc.path] = path.stat().st_mtime
        issues += _load_feedstocks(fdoc, feedstocks, origin, raw, known, written)

    declaration = OrgDeclaration(config, feedstocks, doc, origin, docs, raw)
    issues += check_org(declaration)
    declaration.feedstock_docs = {}
    return declaration, issues


def _load_feedstocks(
    doc: YamlDocument, feedstocks: dict[str, Feedstock], origin: dict[str, Where], raw: dict[str, Any], known: OrgDeclaration | None,
    written: dict[str, float],
) -> list[ConfigIssue]:
    issues = []
    lines = doc.key_lines()
    for name, value in doc.data.items():
        line = lines.get(name, 1)
        if not FEEDSTOCK_NAME.fullmatch(name):
            issues.append(ConfigIssue(doc.path, line, f"{name!r} is not a valid feedstock name"))
            continue
        if name in origin:
            first = origin[name]
            if written[first.path] > written[doc.path] + NEWER:  # files are read by name: the new entry may be read first
                issues.append(ConfigIssue(first.path, first.line, f"feedstock {name!r} is already declared at {doc.path}:{line}"))
            else:
                issues.append(ConfigIssue(doc.path, line, f"feedstock {name!r} is already declared at {first.path}:{first.line}"))
            continue
        origin[name] = Where(doc.path, line)
        raw[name] = value
        if known is not None and name in known.feedstocks and known.feedstock_raw.get(name) == value:
            feedstocks[name] = known.feedstocks[name]  # written exactly as in the known version: already valid
            continue
        plain_list = isinstance(value, list)
        if plain_list and _plain_maintainers(value):
            # nearly every entry (all but a few of 28,906 in conda-forge): a list of logins, checked by the
            # model's own rule without a model built around it; anything else goes through FeedstockEntry
            issues += _listed_twice(doc, name, value)
            feedstocks[name] = Feedstock(name=name, maintainers=tuple(value), archived=False, team=None, previously=())
            continue
        if plain_list:
            value = {"maintainers": value}
        elif not isinstance(value, dict):
            issues.append(ConfigIssue(doc.path, line, f"{name}: expected a list of maintainers or a mapping with 'maintainers:'"))
            continue
        entry, entry_issues = validate_model(FeedstockEntry, doc, value, (name,), "maintainers" if plain_list else None)
        if entry is None:
            issues += entry_issues
            continue
        issues += _listed_twice(doc, name, entry.maintainers)
        feedstocks[name] = Feedstock(
            name=name, maintainers=tuple(entry.maintainers), archived=entry.archived, team=entry.team, previously=tuple(entry.previously),
            repository=entry.repository,
        )
    return issues


def _plain_maintainers(value: list) -> bool:
    """Whether every item is a maintainer by the model's rule (FeedstockEntry.maintainers)."""
    for item in value:
        if not isinstance(item, str):
            return False
        try:
            check_maintainer(item)
        except ValueError:
            return False
    return True


def _listed_twice(doc: YamlDocument, name: str, maintainers: list[str]) -> list[ConfigIssue]:
    issues = []
    seen: set[str] = set()
    for i, maintainer in enumerate(maintainers):
        if maintainer.lower() in seen:
            loc = (name, "maintainers", i) if isinstance(doc.data[name], dict) else (name, i)
            issues.append(doc.issue(loc, f"{name}: maintainer {maintainer!r} is listed twice"))
        seen.add(maintainer.lower())
    return issues


def validation_notes(orgs: dict[str, OrgDeclaration]) -> list[str]:
    """What `validate` says beside "ok": each warning, and how many feedstocks have no known maintainer."""
    notes = [f"warning: {w}" for decl in orgs.values() for w in sorted(set(decl.warnings))]
    for name, decl in sorted(orgs.items()):
        if decl.feedstocks:
            notes.append(f"{name}: {decl.unmaintained} of {len(decl.feedstocks)} feedstock(s) have no known maintainer")
    return notes


def load_orgs(stacks_dir: Path, root: Path, known: dict[str, OrgDeclaration] | None = None) -> dict[str, OrgDeclaration]:
    """Every org under ``stacks_dir``; raises ConfigError listing every problem."""
    orgs: dict[str, OrgDeclaration] = {}
    issues: list[ConfigIssue] = []
    if not stacks_dir.is_dir():
        raise ConfigError([ConfigIssue(display_path(stacks_dir, root), 1, "stacks folder not found")])
    for org_dir in sorted(p for p in stacks_dir.iterdir() if p.is_dir() and declared(p / ORG_FILE)):
        if not (org_dir / ORG_FILE).is_file():
            issues.append(not_a_file(org_dir / ORG_FILE, root))
            continue
        declaration, org_issues = load_org(org_dir, root, (known or {}).get(org_dir.name))
        issues += org_issues
        if declaration is not None:
            orgs[declaration.name] = declaration
    if issues:
        raise ConfigError(issues)
    return orgs
