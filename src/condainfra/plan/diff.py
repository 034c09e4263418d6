"""Compare two renders resource by resource (by URN), as a preview would."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..compiler.resources import REF, SECRET, Resource
from ..redact import MASK, STATE_SECRET, is_secret, redact


def mask(value: Any) -> Any:
    """The value with every secret replaced: a plan never carries secret material. A value without
    one is returned as is: copying 145,000 resources' inputs to replace nothing was half a plan's time."""
    return redact(value, MASK) if _holds_secret(value) else value


def _holds_secret(value: Any) -> bool:
    if isinstance(value, dict):
        if is_secret(value):
            return True
        for v in value.values():
            if isinstance(v, (dict, list)) and _holds_secret(v):
                return True
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, (dict, list)) and _holds_secret(v):
                return True
    return False


@dataclass(slots=True)
class Change:
    key: str
    old: Any
    new: Any


# Every operation a report can show, in the order a reviewer reads them. `plan` produces
# create/update/delete/release; the engine's events add replace, import and drift (a refresh's diff:
# what the live org has that the recorded state does not). `release`: a resource deleted with
# retain-on-delete, so the engine forgets it and GitHub keeps what it held (a team's members whose
# list became unknown: "no longer managed: members kept").
ACTIONS = ("create", "update", "replace", "delete", "release", "import", "drift")


@dataclass(slots=True)  # one per resource of a from-scratch plan: 145,000 for conda-forge
class ResourceChange:
    action: str  # one of ACTIONS
    resource: Resource
    # read-only once made; the empty default is shared, not two new lists per created resource (18 MiB at 170,000)
    changes: Sequence[Change] = ()
    replace_reasons: Sequence[str] = ()  # the keys that force a replacement
    renamed_from: str | None = None  # the deployed URN this resource takes over through an alias (a rename)

    def to_json(self) -> dict[str, Any]:
        r = self.resource
        out: dict[str, Any] = {"action": self.action, "urn": r.urn, "type": r.type, "name": r.name}
        if self.renamed_from:
            out["renamed_from"] = self.renamed_from
        if self.action in ("update", "replace", "drift"):
            out["changes"] = [{"key": c.key, "old": mask(c.old), "new": mask(c.new)} for c in self.changes]
        elif self.action in ("create", "import"):
            out["inputs"] = mask(r.inputs)
        if self.replace_reasons:
            out["replace_reasons"] = list(self.replace_reasons)
        return out


@dataclass(slots=True)
class ConfigChange:
    """One key of a stack's config file (stacks/Pulumi.<stack>.yaml) that a merge changes. A secret's
    values are never kept: only that it was added, changed or removed."""

    key: str
    action: str  # added | changed | removed
    secret: bool
    old: Any = None
    new: Any = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "action": self.action, "secret": self.secret}
        if not self.secret:
            out["old"], out["new"] = self.old, self.new
        return out


@dataclass
class StackDiff:
    """One stack's changes, from an offline diff (`plan`) or from the engine's events (preview, up, drift)."""

    stack: str
    creates: list[ResourceChange] = field(default_factory=list)
    updates: list[ResourceChange] = field(default_factory=list)
    deletes: list[ResourceChange] = field(default_factory=list)
    replaces: list[ResourceChange] = field(default_factory=list)
    imports: list[ResourceChange] = field(default_factory=list)
    releases: list[ResourceChange] = field(default_factory=list)
    drifts: list[ResourceChange] = field(default_factory=list)
    error: str | None = None  # the stack failed: its steps so far are still shown
    diagnostics: list[str] = field(default_factory=list)  # the engine's warnings and errors, secrets masked
    mission: str = ""  # infra | mirror | dashboard: summaries group stacks by it, never by a provider's org
    config: list[ConfigChange] = field(default_factory=list)  # its stacks/Pulumi.<stack>.yaml, key by key
    applied: bool = True  # False: `up` did not touch the stack (refused); its steps are what it would have done

    def of(self, action: str) -> list[ResourceChange]:
        return getattr(self, {"create": "creates", "update": "updates", "delete": "deletes", "release": "releases", "replace": "replaces", "import": "imports", "drift": "drifts"}[action])

    def add(self, change: ResourceChange) -> None:
        self.of(change.action).append(change)

    @property
    def steps(self) -> list[ResourceChange]:
        return [c for action in ACTIONS for c in self.of(action)]

    @property
    def changed(self) -> bool:
        return bool(self.config) or any(self.of(action) for action in ACTIONS)


def same_value(a: Any, b: Any) -> bool:
    """Equal, where a secret read back from the deployed state (its value scrubbed, unknowable here)
    equals any secret: comparing them would report `[secret] → [secret]` for every secret of a stack."""
    if a == b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        if SECRET in a and SECRET in b:
            return a == STATE_SECRET or b == STATE_SECRET
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return False


def _input_changes(old: Resource, new: Resource, renames: dict[str, str]) -> list[Change]:
    changes = []
    for key in sorted(old.inputs.keys() | new.inputs.keys()):
        a, b = old.inputs.get(key), new.inputs.get(key)
        if not same_value(a, b) and (not renames or not same_value(_renamed_refs(a, renames), b)):
            changes.append(Change(key, a, b))
    if old.protect != new.protect:
        changes.append(Change("(protect)", old.protect, new.protect))
    if old.provider != new.provider:
        changes.append(Change("(provider)", old.provider, new.provider))
    return changes


def _renamed_refs(value: Any, renames: dict[str, str]) -> Any:
    """``value`` with each reference to a renamed resource pointing at its new URN: a renamed team is
    the same team (its id does not change), so a grant that refers to it has not changed either."""
    if isinstance(value, dict):
        if REF in value:
            return {**value, REF: renames.get(value[REF], value[REF])}
        return {k: _renamed_refs(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed_refs(v, renames) for v in value]
    return value


def _renamed(resource: Resource, before: dict[str, Resource], after: dict[str, Resource], taken: Any) -> Resource | None:
    """The deployed resource that ``resource`` renames: the first of its aliases (full old URNs, from
    `previously:`) that is deployed and no longer desired under its own URN. Pulumi then updates it in
    place; without the alias it would delete it and create a new one, losing its members and history."""
    for alias in getattr(resource, "aliases", ()):
        if alias in before and alias not in after and alias not in taken:
            return before[alias]
    return None


def diff_stack(stack: str, old: list[Resource], new: list[Resource]) -> StackDiff:
    result = StackDiff(stack)
    if not old:  # from scratch: everything is created, in registration order
        result.creates = [ResourceChange("create", r) for r in new]
        return result
    before = {r.urn: r for r in old}
    after = {r.urn: r for r in new}
    # deployed URN -> the URN that takes it over through an alias: neither deleted nor renamed twice
    renames: dict[str, str] = {}
    for urn, resource in after.items():
        if urn not in before and resource.aliases:
            previous = _renamed(resource, before, after, renames.keys())
            if previous is not None:
                renames[previous.urn] = urn
    renamed_to = {new_urn: old_urn for old_urn, new_urn in renames.items()}
    for urn, resource in after.items():
        previous = before.get(urn)
        if previous is resource:
            continue  # reused from the other side's compile: nothing can differ
        if previous is None:
            if urn not in renamed_to:
                result.creates.append(ResourceChange("create", resource))
                continue
            # the new name and parent are the rename itself, which the report says once
            previous = before[renamed_to[urn]]
            result.updates.append(ResourceChange("update", resource, _input_changes(previous, resource, renames), renamed_from=previous.urn))
        elif previous.inputs != resource.inputs or previous.protect != resource.protect or previous.provider != resource.provider:
            changes = _input_changes(previous, resource, renames)
            if changes:
                result.updates.append(ResourceChange("update", resource, changes))
    # Children are deleted before their parents, as the engine does.
    for urn in reversed(list(before)):
        if urn not in after and urn not in renames:
            gone = before[urn]
            result.add(ResourceChange("release" if gone.retain_on_delete else "delete", gone))
    return result
