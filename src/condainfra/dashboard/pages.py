"""Server-rendered pages: Jinja2 with autoescaping on for HTML and XML alike, so every value
from outside (package metadata, bot error text, logins) is escaped wherever it appears."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

# characters XML 1.0 forbids (and HTML calls parse errors): escaping cannot make them legal, so
# every value is cleaned of them on its way into any page or feed
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _finalize(value):
    if not isinstance(value, str):
        return value
    cleaned = _NOT_XML.sub("\ufffd", value)
    # markup a macro or a filter made stays markup: only characters are replaced, never tags
    return Markup(cleaned) if isinstance(value, Markup) else cleaned


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "–"
    days = ((now or datetime.now(timezone.utc)) - value).days
    return "today" if days <= 0 else "1 day ago" if days == 1 else f"{days} days ago"


def with_query(current: dict, **changes) -> str:
    """``?…`` of the current listing with ``changes``; defaults left out, so links stay short."""
    defaults = {"sort": "state", "state": "all", "name": "", "page": 1, "per_page": 50}
    merged = {**current, **changes}
    kept = {k: v for k, v in merged.items() if k in defaults and v != defaults[k]}
    return "?" + urlencode(kept) if kept else "?"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("condainfra.dashboard", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "atom", "xml"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters["hash"] = lambda value: hashlib.sha256(str(value).encode()).hexdigest()[:16]
    env.filters["ago"] = ago
    env.filters["xmltime"] = lambda value: value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    env.globals["with_query"] = with_query
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)
