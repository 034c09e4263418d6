"""The plan a reviewer reads: a summary line first, then each stack's changes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..compiler.resources import JSON, REF
from .diff import StackDiff, mask
from .safety import Refusal


@dataclass
class Plan:
    against: str
    diffs: list[StackDiff]
    refusals: list[Refusal] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # security-relevant, shown, not refused
    kind: str = "plan"  # plan | preview | up | drift: the same report, from a diff or from the engine's events

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


def _readable(value: Any) -> Any:
    """Markers as a reviewer reads them: `(Type name).output` for a reference, a JSON document as itself."""
    if isinstance(value, dict):
        if REF in value:
            urn = value[REF]
            return f"({_short_type(urn.split('::')[-2].rsplit('$', 1)[-1])} {urn.rsplit('::', 1)[-1]}).{value.get('output')}"
        if JSON in value:
            return _readable(value[JSON])
        return {k: _readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable(v) for v in value]
    return value


def _value(value: Any, limit: int | None = 200) -> str:
    value = _readable(mask(value))
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


def _list_delta(old: Any, new: Any) -> str | None:
    """For lists (team members, topics), the added and removed items read better than two long lists."""
    if not isinstance(old, list) or not isinstance(new, list):
        return None
    key = lambda v: json.dumps(mask(v), sort_keys=True)  # noqa: E731
    a, b = {key(v): v for v in old}, {key(v): v for v in new}
    parts = [f"+ {_value(b[k])}" for k in b if k not in a] + [f"- {_value(a[k])}" for k in a if k not in b]
    return ", ".join(parts) if parts else "reordered"


# A stack created from scratch shows what each new resource will be, so that a reviewer sees the
# security-relevant inputs (public access, encryption, policies); 30,000 new feedstock resources don't.
CREATE_DETAILS_UP_TO = 150


def _cell(lines) -> str:
    """Lines as one Markdown table cell: a newline or a `|` in a value would end the cell (or the table)."""
    return "<br>".join(line.replace("\n", "<br>") for line in lines).replace("|", "\\|")


def _inputs_cell(inputs: dict[str, Any]) -> str:
    # in full: a policy cut short would hide exactly what a reviewer must see
    return _cell(f"`{key}`: {_value(value, None)}" for key, value in sorted(inputs.items()))


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
        show_inputs = len(d.creates) <= CREATE_DETAILS_UP_TO
        for c in d.creates:
            cell = _inputs_cell(c.resource.inputs) if show_inputs else ""
            lines.append(f"| + | {_short_type(c.resource.type)} | `{c.resource.name}` | {cell} |")
        for c in d.updates:
            details = []
            for change in c.changes:
                delta = _list_delta(change.old, change.new)
                shown = delta if delta is not None else f"{_value(change.old)} → {_value(change.new)}"
                details.append(f"`{change.key}`: {shown}")
            cell = _cell(details)
            lines.append(f"| ~ | {_short_type(c.resource.type)} | `{c.resource.name}` | {cell} |")
        for c in d.deletes:
            lines.append(f"| - | {_short_type(c.resource.type)} | `{c.resource.name}` | |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def to_json_text(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n"
