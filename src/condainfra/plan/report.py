"""The one report a reviewer or an operator reads, for `plan`, `preview`, `up` and `drift` alike:
text for a terminal, Markdown for a pull-request comment, versioned JSON for machines (docs/report-format.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..compiler.resources import JSON, REF
from .diff import ACTIONS, ResourceChange, StackDiff, mask
from .safety import Refusal
from .valuediff import fence, is_long, unified

SCHEMA_VERSION = 1
FORMATS = ("text", "markdown", "json")
# GitHub refuses a comment longer than this.
COMMENT_LIMIT = 65_536
SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "import": "=", "drift": "!"}
TITLE = {"plan": "Plan", "preview": "Preview", "up": "Up", "drift": "Drift"}


@dataclass
class Plan:
    against: str
    diffs: list[StackDiff]
    refusals: list[Refusal] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # security-relevant, shown, not refused
    kind: str = "plan"  # plan | preview | up | drift: the same report, from a diff or from the engine's events

    @property
    def counts(self) -> dict[str, int]:
        return {action: sum(len(d.of(action)) for d in self.diffs) for action in ACTIONS}

    @property
    def changed(self) -> bool:
        return any(d.changed for d in self.diffs)

    @property
    def errors(self) -> list[StackDiff]:
        return [d for d in self.diffs if d.error]

    def summary(self) -> str:
        c = self.counts
        changed = sum(1 for d in self.diffs if d.changed)
        title = TITLE.get(self.kind, self.kind.capitalize())
        if not self.changed:
            ok = len(self.diffs) - len(self.errors)
            text = f"{title}: No changes: {ok} stack(s) match {self.against}." if ok or not self.errors else f"{title}:"
        else:
            extra = "".join(f", {c[a]} to {a}" for a in ("replace", "import") if c[a])
            extra += f", {c['drift']} drifted" if c["drift"] else ""
            text = (
                f"{title}: {c['create']} to create, {c['update']} to update, {c['delete']} to delete{extra} "
                f"in {changed} of {len(self.diffs)} stack(s), against {self.against}."
            )
        if self.errors:
            text += f" FAILED in {len(self.errors)} stack(s): {', '.join(d.stack for d in self.errors)}."
        if self.refusals:
            text += f" REFUSED by {len(self.refusals)} safety rail(s)."
        if self.notices:
            text += f" {len(self.notices)} security notice(s): review them."
        return text

    def groups(self) -> list[dict[str, Any]]:
        """One summary row per mission: the rails judge orgs, which are infra, so refusals count there."""
        rows: dict[str, dict[str, Any]] = {}
        for d in self.diffs:
            row = rows.setdefault(d.mission or "infra", _row(d.mission or "infra"))
            row["stacks"] += 1
            row["changed"] += d.changed
            row["errors"] += bool(d.error)
            for action in ACTIONS:
                row[action] += len(d.of(action))
        if self.refusals:
            rows.setdefault("infra", _row("infra"))["refusals"] = len(self.refusals)
        return [rows[k] for k in sorted(rows)]

    def to_json(self) -> dict[str, Any]:
        return {**self._head(), "stacks": [_stack_json(d) for d in self.diffs]}

    def _head(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "summary": self.summary(),
            "against": self.against,
            "changed": self.changed,
            "counts": self.counts,
            "missions": self.groups(),
            "refusals": [{"org": r.org, "rule": r.rule, "flag": r.flag, "message": r.message} for r in self.refusals],
            "notices": list(self.notices),
        }


def _stack_json(d: StackDiff) -> dict[str, Any]:
    return {
        "stack": d.stack,
        "mission": d.mission or "infra",
        "error": d.error,
        "diagnostics": list(d.diagnostics),
        **{action: [c.to_json() for c in d.of(action)] for action in ACTIONS},
    }


def _json(plan: Plan) -> str:
    """The JSON document, one stack per line: each stack's dicts are built, encoded by the C encoder
    (an indented dump runs the pure-Python one) and dropped before the next, so a from-scratch plan of
    145,000 resources never holds the whole document as objects."""
    head = json.dumps(plan._head(), indent=1)
    parts = [head[:-2], ',\n "stacks": [\n']  # head ends in "\n}"
    for i, d in enumerate(plan.diffs):
        parts.append(("" if i == 0 else ",\n") + json.dumps(_stack_json(d)))
    parts.append("\n ]\n}\n")
    return "".join(parts)


def _row(mission: str) -> dict[str, Any]:
    return {"mission": mission, "stacks": 0, "changed": 0, **{a: 0 for a in ACTIONS}, "refusals": 0, "errors": 0}


def render(plan: Plan, fmt: str, *, full_report_hint: str | None = None) -> str:
    if fmt == "json":
        return _json(plan)
    if fmt == "markdown":
        return _markdown(plan, full_report_hint)
    if fmt == "text":
        return _text(plan)
    raise ValueError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")


def to_markdown(plan: Plan, full_report_hint: str | None = None) -> str:
    return render(plan, "markdown", full_report_hint=full_report_hint)


def to_json_text(plan: Plan) -> str:
    return render(plan, "json")


# -- values ---------------------------------------------------------------------------------------------


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


def _shown(value: Any) -> Any:
    return _readable(mask(value))


def _value(value: Any) -> str:
    value = _shown(value)
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else value


def _list_delta(old: Any, new: Any) -> str | None:
    """For lists (team members, topics), the added and removed items read better than two long lists."""
    if not isinstance(old, list) or not isinstance(new, list):
        return None
    key = lambda v: json.dumps(mask(v), sort_keys=True)  # noqa: E731
    a, b = {key(v): v for v in old}, {key(v): v for v in new}
    parts = [f"+ {_value(b[k])}" for k in b if k not in a] + [f"- {_value(a[k])}" for k in a if k not in b]
    return ", ".join(parts) if parts else "reordered"


def _change_text(change) -> tuple[str, list[str] | None]:
    """(inline text, diff lines or None): a long value is never cut, it becomes a diff of its lines."""
    old, new = _shown(change.old), _shown(change.new)
    if is_long(old) or is_long(new):
        delta = _list_delta(change.old, change.new)
        if delta is not None and not is_long(delta):
            return delta, None
        lines = unified(old, new, change.key)
        changed = sum(1 for line in lines if line[:1] in "+-")
        return f"{changed} changed line(s), diff below", lines
    delta = _list_delta(change.old, change.new)
    return (delta if delta is not None else f"{_value(change.old)} → {_value(change.new)}"), None


# -- markdown --------------------------------------------------------------------------------------------

# A stack created from scratch shows what each new resource will be, so that a reviewer sees the
# security-relevant inputs (public access, encryption, policies); 30,000 new feedstock resources don't.
CREATE_DETAILS_UP_TO = 150


def _cell(lines) -> str:
    """Lines as one Markdown table cell: a newline or a `|` in a value would end the cell (or the table)."""
    return "<br>".join(line.replace("\r", "").replace("\n", "<br>") for line in lines).replace("|", "\\|")


def _code(text: str) -> str:
    """Inline code that a backtick in a (hostile) name cannot close early."""
    ticks = "``" if "`" in text else "`"
    return f"{ticks} {text} {ticks}" if ticks == "``" else f"`{text}`"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _old_name(c: ResourceChange) -> str | None:
    """The name a renamed resource had: the last part of the URN it takes over."""
    return c.renamed_from.rsplit("::", 1)[-1] if c.renamed_from else None


def _counts_phrase(d: StackDiff) -> str:
    parts = [f"{len(d.of(a))} {a}" for a in ACTIONS if d.of(a)]
    renamed = sum(1 for c in d.updates if c.renamed_from)
    if renamed:
        parts[[a for a in ACTIONS if d.of(a)].index("update")] += f" ({renamed} renamed)"
    if d.error:
        parts.append("FAILED")
    return ", ".join(parts) or "no changes"


def _stack_section(d: StackDiff) -> list[str]:
    lines = [f"<details><summary><code>{_esc(d.stack)}</code>: {_counts_phrase(d)}</summary>", ""]
    if d.error:
        lines += ["**error:**", *fence(_lines(d.error), "text"), ""]
    if d.diagnostics:
        lines += ["diagnostics:", *fence([line for diag in d.diagnostics for line in _lines(diag)], "text"), ""]
    diffs: list[str] = []
    if d.changed:
        lines += ["| | type | name | details |", "|---|---|---|---|"]
        show_inputs = len(d.creates) + len(d.imports) <= CREATE_DETAILS_UP_TO
        for c in d.steps:
            details = _details(c, show_inputs, diffs)
            lines.append(f"| {SYMBOL[c.action]} | {_cell([_short_type(c.resource.type)])} | {_cell([_code(c.resource.name)])} | {details} |")
        lines.append("")
    lines += diffs
    lines += ["</details>", ""]
    return lines


def _details(c: ResourceChange, show_inputs: bool, diffs: list[str]) -> str:
    if c.action in ("create", "import"):
        if not show_inputs:
            return ""
        # in full: a policy cut short would hide exactly what a reviewer must see
        return _cell(f"`{key}`: {_value(value)}" for key, value in sorted(c.resource.inputs.items()))
    if c.action == "delete":
        return ""
    details = []
    if c.renamed_from:
        details.append(f"renamed from {_code(_old_name(c))}")
    if c.replace_reasons:
        details.append("replace: " + ", ".join(f"`{k}`" for k in c.replace_reasons))
    for change in c.changes:
        text, lines = _change_text(change)
        details.append(f"`{change.key}`: {text}")
        if lines is not None:
            diffs += [f"{_code(c.resource.name)} `{change.key}`:", "", *fence(lines), ""]
    return _cell(details)


def _lines(text: str) -> list[str]:
    return text.splitlines() or [""]


def _summary_table(plan: Plan) -> list[str]:
    header = ["mission", "stacks", "changed", *ACTIONS, "refusals", "errors"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in plan.groups():
        lines.append("| " + " | ".join(_cell([str(row[k])]) for k in header) + " |")
    return lines


def _markdown(plan: Plan, hint: str | None) -> str:
    head = [f"**{plan.summary()}**", "", *_summary_table(plan), ""]
    for refusal in plan.refusals:
        head.append(f"> :no_entry: {_cell([str(refusal)])}")
    for notice in plan.notices:
        head.append(f"> :warning: security: {_cell([notice])}")
    if plan.refusals or plan.notices:
        head.append("")
    shown = [d for d in plan.diffs if d.changed or d.error or d.diagnostics]
    # A section whose table rows alone exceed a comment is collapsed by _fit whatever else is shown:
    # collapse it before rendering thousands of rows only to drop them (a from-scratch shard has ~4,500).
    sections = [_collapsed(d, hint) if _rows_at_least(d) > COMMENT_LIMIT else "\n".join(_stack_section(d)) for d in shown]
    return _fit(head, shown, sections, hint)


_ROW = len("| + |  | `` |  |")


def _rows_at_least(d: StackDiff) -> int:
    """A lower bound of the length of a section's table: each row holds at least its type and name."""
    short: dict[str, int] = {}
    total = 0
    for c in d.steps:
        t = c.resource.type
        if t not in short:
            short[t] = len(_short_type(t))
        total += _ROW + short[t] + len(c.resource.name)
        if total > COMMENT_LIMIT:
            break
    return total


def _pointer(hint: str | None) -> str:
    return f" ({hint})" if hint else " (every step: the same command with `--format text` or `--format json`; in CI, the run's report artifact)"


def _collapsed(d: StackDiff, hint: str | None) -> str:
    return f"- {_code(d.stack)}: {_counts_phrase(d)}: collapsed to fit a comment{_pointer(hint)}\n"


def _fit(head: list[str], shown: list[StackDiff], sections: list[str], hint: str | None) -> str:
    """Collapse the largest sections to their counts, with a pointer to the full report, until it fits."""
    pointer = _pointer(hint)
    top = "\n".join(head) + "\n"

    def total() -> int:
        return len(top) + sum(len(s) + 1 for s in sections)

    if total() > COMMENT_LIMIT:
        for i in sorted(range(len(sections)), key=lambda i: len(sections[i]), reverse=True):
            sections[i] = _collapsed(shown[i], hint)
            if total() <= COMMENT_LIMIT:
                break
    while total() > COMMENT_LIMIT and sections:
        # even the counts do not fit (thousands of stacks): the rest is one line
        dropped = 0
        while sections and total() + 200 > COMMENT_LIMIT:
            sections.pop()
            dropped += 1
        sections.append(f"- and {dropped} more stack(s){pointer}\n")
        break
    return (top + "\n".join(sections)).rstrip() + "\n"


# -- text ------------------------------------------------------------------------------------------------


def _text(plan: Plan) -> str:
    lines: list[str] = []
    for d in plan.diffs:
        if not (d.changed or d.error or d.diagnostics):
            continue
        lines.append(f"{d.stack}: {_counts_phrase(d)}")
        for c in d.steps:
            name = f"{_short_type(c.resource.type)} {c.resource.name}"
            if c.action == "replace":
                lines.append(f"  -/+ {name} (replace: {', '.join(c.replace_reasons) or 'engine'})")
            elif c.action in ("create", "delete", "import"):
                lines.append(f"  {SYMBOL[c.action]} {name}")
            if c.renamed_from:
                lines.append(f"  {SYMBOL[c.action]} {name}: renamed from {_old_name(c)}")
            if c.action in ("update", "replace", "drift"):
                for change in c.changes:
                    text, diff = _change_text(change)
                    prefix = f"  {SYMBOL[c.action]} {name}" if c.action != "replace" else "      "
                    lines.append(f"{prefix} {change.key}: {text.replace(', diff below', '')}")
                    lines += [f"        {line}" for line in diff or []]
                if not c.changes and c.action != "replace" and not c.renamed_from:
                    lines.append(f"  {SYMBOL[c.action]} {name}")
        for diag in d.diagnostics:
            lines += [f"  warning: {line}" for line in _lines(diag)]
        if d.error:
            lines += [f"  error: {line}" for line in _lines(d.error)]
    for refusal in plan.refusals:
        lines.append(f"error: {refusal}")
    for notice in plan.notices:
        lines.append(f"security notice: {notice}")
    lines.append(plan.summary())
    return "\n".join(lines) + "\n"
