"""The plan a reviewer reads: a summary line first, then each stack's changes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .diff import StackDiff, mask
from .safety import Refusal


@dataclass
class Plan:
    against: str
    diffs: list[StackDiff]
    refusals: list[Refusal] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # security-relevant, shown, not refused

    @property
    def counts(self) -> dict[str, int]:
        return {
            "create": sum(len(d.creates) for d in self.diffs),
            "update": sum(len(d.updates) for d in self.diffs),
            "delete": sum(len(d.deletes) for d in self.diffs),
        }

    @property
    def changed(self) -> bool:
        return any(d.changed for d in self.diffs)

    def summary(self) -> str:
        c = self.counts
        changed = sum(1 for d in self.diffs if d.changed)
        if not self.changed:
            text = f"No changes: {len(self.diffs)} stack(s) match {self.against}."
        else:
            text = (
                f"Plan: {c['create']} to create, {c['update']} to update, {c['delete']} to delete "
                f"in {changed} of {len(self.diffs)} stack(s), against {self.against}."
            )
        if self.refusals:
            text += f" REFUSED by {len(self.refusals)} safety rail(s)."
        if self.notices:
            text += f" {len(self.notices)} security notice(s): review them."
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "against": self.against,
            "counts": self.counts,
            "refusals": [{"org": r.org, "rule": r.rule, "flag": r.flag, "message": r.message} for r in self.refusals],
            "notices": list(self.notices),
            "stacks": [
                {
                    "stack": d.stack,
                    "create": [c.to_json() for c in d.creates],
                    "update": [c.to_json() for c in d.updates],
                    "delete": [c.to_json() for c in d.deletes],
                }
                for d in self.diffs
            ],
        }


def _short_type(type_: str) -> str:
    if type_.startswith("pulumi:providers:"):
        return f"Provider ({type_.rsplit(':', 1)[-1]})"
    return type_.rsplit(":", 1)[-1]


def _value(value: Any) -> str:
    text = json.dumps(mask(value), sort_keys=True) if not isinstance(mask(value), str) else mask(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _list_delta(old: Any, new: Any) -> str | None:
    """For lists (team members, topics), the added and removed items read better than two long lists."""
    if not isinstance(old, list) or not isinstance(new, list):
        return None
    key = lambda v: json.dumps(mask(v), sort_keys=True)  # noqa: E731
    a, b = {key(v): v for v in old}, {key(v): v for v in new}
    parts = [f"+ {_value(b[k])}" for k in b if k not in a] + [f"- {_value(a[k])}" for k in a if k not in b]
    return ", ".join(parts) if parts else "reordered"


def to_markdown(plan: Plan) -> str:
    lines = [f"**{plan.summary()}**", ""]
    for refusal in plan.refusals:
        lines.append(f"> :no_entry: {refusal}")
    for notice in plan.notices:
        lines.append(f"> :warning: security: {notice}")
    if plan.refusals or plan.notices:
        lines.append("")
    for d in plan.diffs:
        if not d.changed:
            continue
        lines += [f"### `{d.stack}`: {len(d.creates)} to create, {len(d.updates)} to update, {len(d.deletes)} to delete", ""]
        lines += ["| | type | name | details |", "|---|---|---|---|"]
        for c in d.creates:
            lines.append(f"| + | {_short_type(c.resource.type)} | `{c.resource.name}` | |")
        for c in d.updates:
            details = []
            for change in c.changes:
                delta = _list_delta(change.old, change.new)
                shown = delta if delta is not None else f"{_value(change.old)} → {_value(change.new)}"
                details.append(f"`{change.key}`: {shown}")
            cell = "<br>".join(details).replace("|", "\\|")
            lines.append(f"| ~ | {_short_type(c.resource.type)} | `{c.resource.name}` | {cell} |")
        for c in d.deletes:
            lines.append(f"| - | {_short_type(c.resource.type)} | `{c.resource.name}` | |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def to_json_text(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n"
