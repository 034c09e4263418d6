"""A condainfra checkout: its Pulumi project, its declared orgs and the stacks compiled from them."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .compiler.github import Slices, compile_feedstock_shard, compile_org
from .compiler.dashboard import compile_dashboard
from .compiler.mirror import compile_mirror
from .compiler.resources import Resource, StackBuilder
from .compiler.runners import compile_runners
from .compiler.sharding import shard_of
from .compiler.stacks import StackSpec, infra_stacks
from .config.loader import OrgDeclaration, load_orgs
from .config.dashboard import load_dashboard_stack
from .config.mirror import MirrorConfig, load_mirror
from .config.models import Feedstock
from .config.runners import load_runners
from .config.yamlfile import load_yaml
from .errors import ConfigError, CondainfraError

PROJECT_FILE = "Pulumi.yaml"
STACKS_DIR = "stacks"
# the checkout's own working folder, git-ignored: state of the file backend, caches, adoption files
WORK_DIR = ".condainfra"


def find_root(start: Path | None = None) -> Path:
    """The project root: $CONDAINFRA_ROOT, or the nearest folder upwards holding Pulumi.yaml and stacks/."""
    env = os.environ.get("CONDAINFRA_ROOT")
    if env:
        root = Path(env)
        if not (root / PROJECT_FILE).is_file():
            raise CondainfraError(f"CONDAINFRA_ROOT={env}: no {PROJECT_FILE} there")
        return root.resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file() and (folder / STACKS_DIR).is_dir():
            return folder
    raise CondainfraError(f"no condainfra project ({PROJECT_FILE} beside a {STACKS_DIR}/ folder) in {here} or above; run from a checkout or pass --root")


def read_project_name(root: Path) -> str:
    doc, issues = load_yaml(root / PROJECT_FILE, PROJECT_FILE)
    if issues or doc is None:
        raise ConfigError(issues)
    name = doc.data.get("name") if isinstance(doc.data, dict) else None
    if not isinstance(name, str) or not name:
        raise ConfigError([doc.issue(("name",), "Pulumi.yaml needs a project name")])
    return name


@dataclass(frozen=True)
class StandaloneStack:
    """A stack with one config file of its own (not an org): its loader and its compiler.
    ``load(root, orgs)`` returns the typed config, None when the file is absent, or raises
    ConfigError; ``orgs`` lets it check references to declared repositories (None when the
    orgs themselves failed to load: their errors are reported, and cross-checks would only add noise)."""

    name: str
    mission: str
    load: Callable[[Path, dict[str, OrgDeclaration] | None], Any]
    compile: Callable[[Any, StackBuilder], None]


def _mirror(root: Path, orgs: dict[str, OrgDeclaration] | None) -> MirrorConfig | None:
    return load_mirror(root)


# One line per stack: `condainfra stacks`, plan, render, validate and the Pulumi program all follow this list.
STANDALONE_STACKS: list[StandaloneStack] = [
    StandaloneStack("mirror", "mirror", _mirror, compile_mirror),
    StandaloneStack("dashboard", "dashboard", load_dashboard_stack, compile_dashboard),
    StandaloneStack("runners", "infra", load_runners, compile_runners),
]


@dataclass
class Project:
    root: Path
    name: str
    orgs: dict[str, OrgDeclaration]
    standalone: dict[str, Any] = field(default_factory=dict)
    _slices: dict[str, Slices] = field(default_factory=dict)
    _shards: dict[str, dict[int, list[Feedstock]]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path, stacks_dir: Path | None = None, like: Project | None = None) -> Project:
        """Load a checkout; ``like`` is another version of the same project whose unchanged
        feedstock entries are reused rather than validated again (a plan's baseline)."""
        name = read_project_name(root)
        issues = []
        orgs: dict[str, OrgDeclaration] = {}
        try:
            orgs = load_orgs(stacks_dir or root / STACKS_DIR, root, like.orgs if like else None)
        except ConfigError as exc:
            issues += exc.issues
        standalone: dict[str, Any] = {}
        for stack in STANDALONE_STACKS:
            try:
                config = stack.load(root, None if issues else orgs)  # None: the orgs did not load, skip cross-checks
            except ConfigError as exc:
                issues += exc.issues
                continue
            if config is not None:
                standalone[stack.name] = config
        if issues:
            raise ConfigError(issues)
        return cls(root, name, orgs, standalone)

    @property
    def mirror(self) -> MirrorConfig | None:
        return self.standalone.get("mirror")

    def stacks(self) -> list[StackSpec]:
        specs = infra_stacks(self.orgs)
        for stack in STANDALONE_STACKS:
            if stack.name in self.standalone:
                specs.append(StackSpec(stack.name, stack.mission, stack.name))
        return specs

    def stack(self, name: str) -> StackSpec:
        for spec in self.stacks():
            if spec.name == name:
                return spec
        raise CondainfraError(f"unknown stack {name!r}; `condainfra stacks` lists them")

    def feedstocks_of(self, spec: StackSpec) -> list[Feedstock]:
        org = self.orgs[spec.org]
        if spec.org not in self._shards:
            shards: dict[int, list[Feedstock]] = defaultdict(list)
            count = org.config.feedstocks.shards
            for _, feedstock in sorted(org.feedstocks.items()):  # by name: a shard's order is stable
                # by its first name: a renamed feedstock stays in its stack, where its aliases can reach
                shards[shard_of(feedstock.shard_key, count)].append(feedstock)
            self._shards[spec.org] = shards
        return self._shards[spec.org].get(spec.shard, [])

    def fingerprint(self, spec: StackSpec) -> tuple:
        """Everything ``compile(spec)`` reads: equal fingerprints compile to equal resources,
        so a plan compiles an unchanged stack once, not once per side."""
        org = self.orgs[spec.org].config if spec.org in self.orgs else self.standalone.get(spec.kind)
        feedstocks = tuple(self.feedstocks_of(spec)) if spec.kind == "feedstocks" else ()
        return (self.name, spec, org, feedstocks)

    def compile(self, spec: StackSpec, like: Project | None = None) -> list[Resource]:
        """The stack's resources. With ``like`` (another version of this project that compiled the
        same stack), feedstocks equal in both are taken from its result instead of compiled again."""
        builder = StackBuilder(spec.name, self.name)
        if spec.kind == "org":
            compile_org(self.orgs[spec.org], builder)
        elif spec.kind in self.standalone:
            next(s for s in STANDALONE_STACKS if s.name == spec.kind).compile(self.standalone[spec.kind], builder)
        elif spec.kind == "feedstocks":
            reuse = None
            if like is not None and like.name == self.name and spec.org in like.orgs and like.orgs[spec.org].config == self.orgs[spec.org].config:
                reuse = like._slices.get(spec.name)
            self._slices[spec.name] = compile_feedstock_shard(self.orgs[spec.org], self.feedstocks_of(spec), builder, reuse)
        else:
            raise CondainfraError(f"stack {spec.name!r} has no compiler for kind {spec.kind!r}")
        return builder.resources
