"""The autotick bot's status files (cf-graph's ``status/``), read into per-feedstock signals.

Shapes (see the bot's repository):
* ``version_status.v2.json``: ``{"errors": {feedstock: "<N> attempts - <html>"}, "queued": {feedstock: version}}``
* ``migration_json/<name>.json`` (or ``migrations/<name>.json``): ``{"_feedstock_status": {feedstock:
  {"num_descendants", "immediate_children", "pr_url", "pr_status", "pre_pr_migrator_status", ...}},
  "done": [...], "in-pr": [...], "awaiting-pr": [...], "awaiting-parents": [...], "not-solvable": [...],
  "bot-error": [...]}``
* ``current_status.json`` / ``longterm_status.json``: ``{migration: title}``, used to find the
  migration files of a remote status folder.

Every value is upstream data: names are checked, strings are kept as text (HTML stripped, length
bounded), links only when they are http(s). Files are read under the refresh's fetch policy (the
``status`` size cap, deadlines) and parsed with the project's depth-limited JSON parser.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from ... import jsondoc
from ...config.models import FEEDSTOCK_NAME as _FEEDSTOCK
from ...fetch import FetchPolicy
from .fetch import SourceUnavailable, is_local_folder, read_many

log = logging.getLogger("condainfra.dashboard")

MIGRATION_STATES = ("bot-error", "not-solvable", "in-pr", "awaiting-pr", "awaiting-parents", "done")
_MIGRATION_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,200}$")
_ATTEMPTS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+attempts?\s+-\s+")
_LINK = re.compile(r"https?://[^\s<>\"']+")
_HREF = re.compile(r"""href\s*=\s*["'](https?://[^"'\s<>]+)["']""", re.IGNORECASE)
MAX_TEXT = 20_000
# counts from upstream, bounded so that a hostile file cannot overflow a column or a float
MAX_COUNT = 10**9
_VERSION = re.compile(r"[A-Za-z0-9_.+!-]{1,100}")


@dataclass(frozen=True)
class VersionError:
    attempts: float
    text: str  # plain text, HTML removed
    job_url: str | None


@dataclass(frozen=True)
class MigrationState:
    migration: str
    state: str
    descendants: int
    children: tuple[str, ...]
    pr_url: str | None
    error: str  # plain text of pre_pr_migrator_status, "" when none


@dataclass
class BotStatus:
    version_errors: dict[str, VersionError] = field(default_factory=dict)
    queued: dict[str, str] = field(default_factory=dict)
    migrations: dict[str, list[MigrationState]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


# the markup the bot itself writes into its messages; it is dropped for reading. Any other tag
# is not the bot's: it is kept as literal text (and escaped where it is shown).
_BOT_MARKUP = {"a", "details", "summary", "pre", "code", "br", "b", "i", "p", "tt"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag, attrs) -> None:
        if tag not in _BOT_MARKUP:
            self.parts.append(self.get_starttag_text() or f"<{tag}>")

    def handle_startendtag(self, tag, attrs) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag) -> None:
        if tag not in _BOT_MARKUP:
            self.parts.append(f"</{tag}>")


def html_to_text(value: str) -> str:
    value = value[:MAX_TEXT]
    if "<" not in value and "&" not in value:  # no markup, no character reference: the parser would return it as is
        return value.strip()
    parser = _Text()
    parser.feed(value)
    parser.close()
    return "".join(parser.parts).strip()


def safe_link(value: object) -> str | None:
    """An http(s) URL from upstream data, or None: never javascript:, data: or relative links."""
    if isinstance(value, str) and len(value) <= 2000 and _LINK.fullmatch(value):
        return value
    return None


def parse_version_status(data: object, where: str, status: BotStatus) -> None:
    if not isinstance(data, dict):
        status.problems.append(f"{where}: expected a JSON object")
        return
    errors, queued = data.get("errors", {}), data.get("queued", {})
    if not isinstance(errors, dict) or not isinstance(queued, dict):
        status.problems.append(f"{where}: 'errors' and 'queued' must be objects")
        return
    for name, value in errors.items():
        if not _FEEDSTOCK.fullmatch(str(name)) or not isinstance(value, str):
            status.problems.append(f"{where}: errors.{str(name)[:100]!r}: not a feedstock name with a text value")
            continue
        match = _ATTEMPTS.match(value)
        attempts = min(float(match.group(1)), MAX_COUNT) if match else 1.0
        link = _HREF.search(value[:MAX_TEXT])
        body = value[match.end():] if match else value
        status.version_errors[name] = VersionError(attempts, html_to_text(body), safe_link(link.group(1)) if link else None)
    for name, version in queued.items():
        if _FEEDSTOCK.fullmatch(str(name)) and isinstance(version, str) and _VERSION.fullmatch(version):
            status.queued[name] = version
        else:
            status.problems.append(f"{where}: queued.{str(name)[:100]!r}: not a feedstock name with a version")


def parse_migration(name: str, data: object, where: str, status: BotStatus) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("_feedstock_status", {}), dict):
        status.problems.append(f"{where}: expected an object with '_feedstock_status'")
        return
    details = data.get("_feedstock_status", {})
    for state in MIGRATION_STATES:
        members = data.get(state, [])
        if not isinstance(members, list):
            status.problems.append(f"{where}: {state!r} must be a list")
            continue
        for feedstock in members:
            if not isinstance(feedstock, str) or not _FEEDSTOCK.fullmatch(feedstock):
                status.problems.append(f"{where}: {state}: {str(feedstock)[:100]!r} is not a feedstock name")
                continue
            info = details.get(feedstock, {})
            info = info if isinstance(info, dict) else {}
            descendants = info.get("num_descendants", 0)
            if isinstance(descendants, float) and descendants.is_integer():  # orjson reads integers past 64 bits as floats
                descendants = int(min(descendants, MAX_COUNT))
            children = info.get("immediate_children", [])
            error = info.get("pre_pr_migrator_status", "")
            status.migrations.setdefault(feedstock, []).append(
                MigrationState(
                    migration=name,
                    state=state,
                    descendants=min(descendants, MAX_COUNT) if isinstance(descendants, int) and not isinstance(descendants, bool) and descendants >= 0 else 0,
                    children=tuple(c for c in children if isinstance(c, str) and _FEEDSTOCK.fullmatch(c))[:500] if isinstance(children, list) else (),
                    pr_url=safe_link(info.get("pr_url")),
                    error=html_to_text(error) if isinstance(error, str) else "",
                )
            )


def _json(raw: bytes, where: str, status: BotStatus) -> object | None:
    try:
        return jsondoc.loads(raw, where)
    except jsondoc.JsonDocumentError as exc:
        status.problems.append(str(exc))
        return None


def migration_names(location: str, policy: FetchPolicy | None = None) -> list[str]:
    """The migrations of a status folder: its files, or for a URL the names its index files list."""
    if is_local_folder(location):
        names = set()
        for folder in ("migration_json", "migrations"):
            if (Path(location) / folder).is_dir():
                names |= {p.stem for p in (Path(location) / folder).glob("*.json")}
        return sorted(n for n in names if _MIGRATION_NAME.fullmatch(n))
    names = set()
    index = read_many(location, [("current_status.json",), ("longterm_status.json",)], policy)
    for name, raw in index.items():
        try:
            data = jsondoc.loads(raw, f"{location}/{name[0]}") if raw else {}
        except jsondoc.JsonDocumentError:
            data = {}
        if isinstance(data, dict):
            names |= {n for n in data if isinstance(n, str) and _MIGRATION_NAME.fullmatch(n)}
    return sorted(names)


def load_bot_status(location: str, policy: FetchPolicy | None = None) -> BotStatus:
    """Everything the bot says about feedstocks. An unreadable source is one problem, not an exception."""
    status = BotStatus()
    try:
        names = migration_names(location, policy)
        wanted = [("version_status.v2.json",)] + [(folder, f"{n}.json") for n in names for folder in ("migration_json", "migrations")]
        files = read_many(location, wanted, policy)
    except SourceUnavailable as exc:
        status.problems.append(f"bot status {exc}")
        return status
    raw = files[("version_status.v2.json",)]
    if raw is None:
        status.problems.append(f"{location}/version_status.v2.json: not found")
    else:
        data = _json(raw, f"{location}/version_status.v2.json", status)
        if data is not None:
            parse_version_status(data, f"{location}/version_status.v2.json", status)
    for name in names:
        for folder in ("migration_json", "migrations"):
            raw = files.get((folder, f"{name}.json"))
            if raw is not None:
                where = f"{location}/{folder}/{name}.json"
                data = _json(raw, where, status)
                if data is not None:
                    parse_migration(name, data, where, status)
                break
    return status
