"""An org as declared: its ``org.yaml`` model, its feedstocks and where each was written.

The loader builds it and the cross-file checks read it; it sits below both so that neither imports the
other for it (loader -> checks -> declaration, never back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigIssue
from .models import EMAIL_MAINTAINER, Feedstock, OrgConfig
from .yamlfile import YamlDocument


@dataclass(frozen=True)
class Where:
    path: str
    line: int


def maintainer_kind(maintainer: str, org: str) -> str:
    """``login``, ``team`` (a team of ``org``), ``other-org`` (``org/team`` of another org) or ``email``;
    only logins and teams of the org itself are granted anything."""
    if "@" in maintainer and EMAIL_MAINTAINER.fullmatch(maintainer):
        return "email"
    if "/" in maintainer:
        return "team" if maintainer.split("/", 1)[0].lower() == org.lower() else "other-org"
    return "login"


@dataclass
class OrgDeclaration:
    config: OrgConfig
    feedstocks: dict[str, Feedstock]
    source: YamlDocument
    feedstock_origin: dict[str, Where] = field(default_factory=dict)
    # kept only while loading, to point errors at their exact line
    feedstock_docs: dict[str, YamlDocument] = field(default_factory=dict)
    # each feedstock's value as written, so that loading another version of the same files
    # (a plan's baseline) can reuse the models of entries that did not change
    feedstock_raw: dict[str, Any] = field(default_factory=dict)
    # config that loads but does not do all it says, or that GitHub reports otherwise (validate shows them)
    warnings: list[ConfigIssue] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.org

    @property
    def unmaintained(self) -> int:
        """How many feedstocks have no known maintainer: no login and no team of the org."""
        org = self.config.org
        return sum(1 for f in self.feedstocks.values() if not any(maintainer_kind(m, org) in ("login", "team") for m in f.maintainers))
