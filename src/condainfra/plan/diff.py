"""Compare two renders resource by resource (by URN), as a preview would."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..compiler.resources import Resource
from ..redact import redact

MASK = "[secret]"


def mask(value: Any) -> Any:
    """The value with every secret replaced: a plan never carries secret material."""
    return redact(value, MASK)


@dataclass
class Change:
    key: str
    old: Any
    new: Any


@dataclass
class ResourceChange:
    action: str  # create | update | delete
    resource: Resource
    changes: list[Change] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        r = self.resource
        out: dict[str, Any] = {"action": self.action, "urn": r.urn, "type": r.type, "name": r.name}
        if self.action == "update":
            out["changes"] = [{"key": c.key, "old": mask(c.old), "new": mask(c.new)} for c in self.changes]
        elif self.action == "create":
            out["inputs"] = mask(r.inputs)
        return out


@dataclass
class StackDiff:
    stack: str
    creates: list[ResourceChange] = field(default_factory=list)
    updates: list[ResourceChange] = field(default_factory=list)
    deletes: list[ResourceChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.creates or self.updates or self.deletes)


def _input_changes(old: Resource, new: Resource) -> list[Change]:
    changes = []
    for key in sorted(old.inputs.keys() | new.inputs.keys()):
        a, b = old.inputs.get(key), new.inputs.get(key)
        if a != b:
            changes.append(Change(key, a, b))
    if old.protect != new.protect:
        changes.append(Change("(protect)", old.protect, new.protect))
    if old.provider != new.provider:
        changes.append(Change("(provider)", old.provider, new.provider))
    return changes


def diff_stack(stack: str, old: list[Resource], new: list[Resource]) -> StackDiff:
    result = StackDiff(stack)
    before = {r.urn: r for r in old}
    after = {r.urn: r for r in new}
    for urn, resource in after.items():
        previous = before.get(urn)
        if previous is resource:
            continue  # reused from the other side's compile: nothing can differ
        if previous is None:
            result.creates.append(ResourceChange("create", resource))
        elif previous.inputs != resource.inputs or previous.protect != resource.protect or previous.provider != resource.provider:
            changes = _input_changes(previous, resource)
            if changes:
                result.updates.append(ResourceChange("update", resource, changes))
    # Children are deleted before their parents, as the engine does.
    for urn in reversed(list(before)):
        if urn not in after:
            result.deletes.append(ResourceChange("delete", before[urn]))
    return result
