"""Server-rendered pages: Jinja2 with autoescaping on for HTML and XML alike, so every value
from outside (package metadata, bot error text, logins) is escaped wherever it appears."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("condainfra.dashboard", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "atom", "xml"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["hash"] = lambda value: hashlib.sha256(str(value).encode()).hexdigest()[:16]
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)
