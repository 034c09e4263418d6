"""The one report a reviewer or an operator reads, for `plan`, `preview`, `up` and `drift` alike:
text for a terminal, Markdown for a pull-request comment, versioned JSON for machines (docs/report-format.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from ..compiler import github as gh
from ..compiler.resources import JSON, REF
from .diff import ACTIONS, Change, ConfigChange, ResourceChange, StackDiff, mask
from .safety import Refusal
from .valuediff import is_long, unified

SCHEMA_VERSION = 1
FORMATS = ("text", "markdown", "json")
# GitHub refuses a comment longer than this many characters.
COMMENT_LIMIT = 65_536
# What comment.yml adds around the rendered plan (its marker, a separator and the footer with the run's
# link), at most; the workflow checks that its own text fits in it (tests/test_workflows.py ties the two).
COMMENT_RESERVE = 1_024
COMMENT_BUDGET = COMMENT_LIMIT - COMMENT_RESERVE
SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "release": "(-)", "import": "=", "drift": "!"}
# what a released resource leaves behind, as a reviewer must read it
RELEASED = "no longer managed: members kept"
TITLE = {"plan": "Plan", "preview": "Preview", "up": "Up", "drift": "Drift"}


@dataclass
class Plan:
    against: str
    diffs: list[StackDiff]
    refusals: list[Refusal] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # security-relevant, shown, not refused
    warnings: list[str] = field(default_factory=list)  # validate's: config that loads but will not do all it says
    kind: str = "plan"  # plan | preview | up | drift: the same report, from a diff or from the engine's events

    @property
    def counts(self) -> dict[str, int]:
        return _counts(self.diffs)

    @property
    def changed(self) -> bool:
        return any(d.changed for d in self.diffs)

    @property
    def errors(self) -> list[StackDiff]:
        return [d for d in self.diffs if d.error]

    def summary(self) -> str:
        title = TITLE.get(self.kind, self.kind.capitalize())
        applied = [d for d in self.diffs if d.applied]
        held = [d for d in self.diffs if not d.applied and d.changed]
        c = _counts(applied)
        changed = sum(1 for d in applied if d.changed)
        if not any(d.changed for d in applied):
            ok = len(self.diffs) - len(self.errors) - len(held)
            text = f"{title}: No changes: {ok} stack(s) match {self.against}." if ok or not (self.errors or held) else f"{title}:"
        else:
            text = f"{title}: {_phrase(c, self.kind == 'up')} in {changed} of {len(self.diffs)} stack(s), against {self.against}."
        if held:  # `up` refused these: nothing was applied there, so nothing of theirs counts as applied
            text += f" NOT APPLIED in {len(held)} refused stack(s) ({_phrase(_counts(held), False)}): {', '.join(d.stack for d in held)}."
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
            row["config"] += len(d.config)
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
            "refusals": [{"org": r.org, "stack": r.stack or r.org, "rule": r.rule, "flag": r.flag, "message": r.message} for r in self.refusals],
            "notices": list(self.notices),
        }


def _counts(diffs: list[StackDiff]) -> dict[str, int]:
    counts = {action: sum(len(d.of(action)) for d in diffs) for action in ACTIONS}
    counts["config"] = sum(len(d.config) for d in diffs)
    return counts


# (count key, "to ..." wording of a plan, past wording of an applied `up`); create/update/delete always said
_WORDS = (
    ("create", "to create", "created"), ("update", "to update", "updated"), ("delete", "to delete", "deleted"),
    ("replace", "to replace", "replaced"), ("import", "to import", "imported"),
    ("release", "no longer managed (kept on GitHub)", "no longer managed (kept on GitHub)"),
    ("drift", "drifted", "drifted"), ("config", "stack config change(s)", "stack config change(s)"),
)


def _phrase(c: dict[str, int], applied: bool) -> str:
    return ", ".join(f"{c[key]} {done if applied else todo}" for key, todo, done in _WORDS if c[key] or key in ("create", "update", "delete"))


def _stack_json(d: StackDiff) -> dict[str, Any]:
    out = {
        "stack": d.stack,
        "mission": d.mission or "infra",
        "error": d.error,
        "diagnostics": list(d.diagnostics),
        **{action: [c.to_json() for c in d.of(action)] for action in ACTIONS},
        "config": [c.to_json() for c in d.config],
    }
    if not d.applied:
        out["applied"] = False
    return out


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
    return {"mission": mission, "stacks": 0, "changed": 0, **{a: 0 for a in ACTIONS}, "config": 0, "refusals": 0, "errors": 0}


# Formats rendered by a module of their own, which imports this one: plan/markdown.py adds "markdown" when
# the plan package is imported, so that this module never imports it back (no cycle).
RENDERERS: dict[str, Any] = {}


def render(plan: Plan, fmt: str, *, full_report_hint: str | None = None, budget: int = COMMENT_BUDGET) -> str:
    """``budget``: the characters the Markdown may take (GitHub counts a comment in characters)."""
    if fmt == "json":
        return _json(plan)
    if fmt == "markdown":
        return RENDERERS["markdown"](plan, full_report_hint, budget)
    if fmt == "text":
        return _text(plan)
    raise ValueError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")


def to_markdown(plan: Plan, full_report_hint: str | None = None, budget: int = COMMENT_BUDGET) -> str:
    return render(plan, "markdown", full_report_hint=full_report_hint, budget=budget)


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


def list_delta(old: Any, new: Any) -> list[tuple[str, str]] | None:
    """For lists (team members, topics), the added and removed items read better than two long lists:
    ("+"|"-", value) pairs, [] when only the order changed."""
    if not isinstance(old, list) or not isinstance(new, list):
        return None
    key = lambda v: json.dumps(mask(v), sort_keys=True)  # noqa: E731
    a, b = {key(v): v for v in old}, {key(v): v for v in new}
    return [("+", _value(b[k])) for k in b if k not in a] + [("-", _value(a[k])) for k in a if k not in b]


def change_view(change: Change) -> tuple[str, Any]:
    """How a change reads: ("delta", [(sign, value)]), ("pair", (old, new)) or ("diff", lines). A long
    value is never cut: it becomes a unified diff of its lines."""
    old, new = _shown(change.old), _shown(change.new)
    delta = list_delta(change.old, change.new)
    if is_long(old) or is_long(new):
        if delta is not None and not is_long(", ".join(f"{s} {v}" for s, v in delta)):
            return "delta", delta
        return "diff", unified(old, new, change.key)
    if delta is not None:
        return "delta", delta
    return "pair", (_value(change.old), _value(change.new))


def diff_count(lines: list[str]) -> int:
    return sum(1 for line in lines if line[:1] in "+-")


def _change_text(change: Change) -> tuple[str, list[str] | None]:
    kind, view = change_view(change)
    if kind == "delta":
        return (", ".join(f"{sign} {value}" for sign, value in view) or "reordered"), None
    if kind == "pair":
        return f"{view[0]} → {view[1]}", None
    return f"{diff_count(view)} changed line(s)", view


def old_name(c: ResourceChange) -> str | None:
    """The name a renamed resource had: the last part of the URN it takes over."""
    return c.renamed_from.rsplit("::", 1)[-1] if c.renamed_from else None


def counts_phrase(d: StackDiff) -> str:
    parts = [f"{len(d.of(a))} {a}" for a in ACTIONS if d.of(a)]
    renamed = sum(1 for c in d.updates if c.renamed_from)
    if renamed:
        parts[[a for a in ACTIONS if d.of(a)].index("update")] += f" ({renamed} renamed)"
    if d.config:
        parts.append(f"{len(d.config)} config")
    if not d.applied:
        parts.append("NOT APPLIED (refused)")
    if d.error:
        parts.append("FAILED")
    return ", ".join(parts) or "no changes"


def config_line(c: ConfigChange, show: Callable[[str], str] = str) -> str:
    """One config key's change; a secret says only that it changed. ``show`` puts each key and value
    into its spot (Markdown wraps it as code)."""
    if c.secret:
        return f"secret {show(c.key)} {c.action}"
    if c.action == "changed":
        return f"{show(c.key)}: {show(_value(c.old))} → {show(_value(c.new))}"
    return f"{show(c.key)} {c.action}: {show(_value(c.new if c.action == 'added' else c.old))}"


def lines_of(text: str) -> list[str]:
    return text.splitlines() or [""]


def released_text(c: ResourceChange) -> str:
    return RELEASED if c.resource.type == gh.TEAM_MEMBERS else "no longer managed: kept as GitHub has it"


# A stack created from scratch shows what each new resource will be, so that a reviewer sees the
# security-relevant inputs (who gets access, public access, encryption, policies); 30,000 new feedstock
# resources don't.
CREATE_DETAILS_UP_TO = 150


# -- text ------------------------------------------------------------------------------------------------


def _text(plan: Plan) -> str:
    lines: list[str] = [plan.summary()]
    for refusal in plan.refusals:
        lines.append(f"error: {refusal}")
    for notice in plan.notices:
        lines.append(f"security notice: {notice}")
    for d in plan.diffs:
        if not (d.changed or d.error or d.diagnostics):
            continue
        lines.append(f"{d.stack}: {counts_phrase(d)}")
        lines += [f"  config: {config_line(c)}" for c in d.config]
        show_inputs = len(d.creates) + len(d.imports) <= CREATE_DETAILS_UP_TO
        for c in d.steps:
            name = f"{_short_type(c.resource.type)} {c.resource.name}"
            if c.action == "replace":
                lines.append(f"  -/+ {name} (replace: {', '.join(c.replace_reasons) or 'engine'})")
            elif c.action == "release":
                lines.append(f"  {SYMBOL[c.action]} {name}: {released_text(c)}")
            elif c.action in ("create", "delete", "import"):
                lines.append(f"  {SYMBOL[c.action]} {name}")
                if c.action != "delete" and show_inputs:
                    lines += [f"      {key}: {_value(value)}" for key, value in sorted(c.resource.inputs.items())]
            if c.renamed_from:
                lines.append(f"  {SYMBOL[c.action]} {name}: renamed from {old_name(c)}")
            if c.action in ("update", "replace", "drift"):
                for change in c.changes:
                    text, diff = _change_text(change)
                    prefix = f"  {SYMBOL[c.action]} {name}" if c.action != "replace" else "      "
                    lines.append(f"{prefix} {change.key}: {text}")
                    lines += [f"        {line}" for line in diff or []]
                if not c.changes and c.action != "replace" and not c.renamed_from:
                    lines.append(f"  {SYMBOL[c.action]} {name}")
        if (len(d.creates) + len(d.imports)) and not show_inputs:
            lines.append(f"  (inputs of {len(d.creates) + len(d.imports)} new resources: --format json)")
        for diag in d.diagnostics:
            lines += [f"  warning: {line}" for line in lines_of(diag)]
        if d.error:
            lines += [f"  error: {line}" for line in lines_of(d.error)]
    return "\n".join(lines) + "\n"
