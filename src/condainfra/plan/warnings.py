"""`validate`'s warnings in the pull request's comment: config that loads but will not do all it says
(a maintainer who is no login, a team of another org) is seen by the reviewer, not only in the CI log."""

from __future__ import annotations

from . import markup

# A first import of a big org can warn thousands of times; the comment names a few and points to validate.
SHOWN = 20


def config_warnings(warnings: list[str]) -> list[str]:
    """The comment's lines for ``warnings`` (each ``path:line: message``), a blank line after; none without."""
    if not warnings:
        return []
    lines = [f"> :warning: config: {markup.text(w)}" for w in warnings[:SHOWN]]
    if len(warnings) > SHOWN:
        lines.append(f"> :warning: config: and {len(warnings) - SHOWN} more warning(s): `condainfra validate` lists them all")
    return [*lines, ""]
