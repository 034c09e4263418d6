"""The Markdown report: a pull-request comment that is always whole.

It fits the ``budget`` it is given (what is left of GitHub's 65,536 characters once comment.yml added its
marker and footer), counted in characters as GitHub counts. When it would not fit, the largest stack
sections collapse to one line each, outside any ``<details>``, with a pointer to the full report; every
``<details>`` it opens it closes. Every value from config, state or an `--against` file goes through
plan/markup.py for the spot it lands in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import markup
from .diff import ACTIONS, ResourceChange, StackDiff
from .report import (
    RENDERERS, CREATE_DETAILS_UP_TO, SYMBOL, _short_type, _value, change_view, config_line, counts_phrase, diff_count, lines_of,
    old_name, released_text,
)
from .valuediff import fence
from .warnings import config_warnings

if TYPE_CHECKING:
    from .report import Plan


def _code(value: object) -> str:
    return markup.code(str(value))


def _stack_section(d: StackDiff) -> list[str]:
    lines = [f"<details><summary><code>{markup.html(d.stack)}</code>: {markup.html(counts_phrase(d))}</summary>", ""]
    if d.error:
        lines += ["**error:**", "", *fence(lines_of(d.error), "text"), ""]
    if d.diagnostics:
        lines += ["diagnostics:", "", *fence([line for diag in d.diagnostics for line in lines_of(diag)], "text"), ""]
    if d.config:
        lines += [f"- stack config: {config_line(c, _code)}" for c in d.config] + [""]
    diffs: list[str] = []
    if any(d.of(a) for a in ACTIONS):
        lines += ["| | type | name | details |", "|---|---|---|---|"]
        show_inputs = len(d.creates) + len(d.imports) <= CREATE_DETAILS_UP_TO
        for c in d.steps:
            details = _details(c, show_inputs, diffs)
            row = [SYMBOL[c.action], _code(_short_type(c.resource.type)), _code(c.resource.name), details]
            lines.append("| " + " | ".join(markup.cell(part) for part in row) + " |")
        lines.append("")
    lines += diffs
    lines += ["</details>", ""]
    return lines


def _details(c: ResourceChange, show_inputs: bool, diffs: list[str]) -> str:
    if c.action in ("create", "import"):
        if not show_inputs:
            return ""
        # in full: a policy cut short would hide exactly what a reviewer must see
        return "<br>".join(f"{_code(key)}: {_code(_value(value))}" for key, value in sorted(c.resource.inputs.items()))
    if c.action == "delete":
        return ""
    if c.action == "release":
        return markup.text(released_text(c))
    details = []
    if c.renamed_from:
        details.append(f"renamed from {_code(old_name(c))}")
    if c.replace_reasons:
        details.append("replace: " + ", ".join(_code(k) for k in c.replace_reasons))
    for change in c.changes:
        kind, view = change_view(change)
        if kind == "delta":
            text = ", ".join(f"{sign} {_code(value)}" for sign, value in view) or "reordered"
        elif kind == "pair":
            text = f"{_code(view[0])} → {_code(view[1])}"
        else:
            text = f"{diff_count(view)} changed line(s), diff below"
            diffs += [f"{_code(c.resource.name)} {_code(change.key)}:", "", *fence(view), ""]
        details.append(f"{_code(change.key)}: {text}")
    return "<br>".join(details)


def _summary_table(plan: Plan) -> list[str]:
    header = ["mission", "stacks", "changed", *ACTIONS, "config", "refusals", "errors"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in plan.groups():
        lines.append("| " + " | ".join(markup.cell(markup.text(str(row[k]))) for k in header) + " |")
    return lines


def to_markdown(plan: Plan, hint: str | None, budget: int) -> str:
    head = [f"**{markup.text(plan.summary())}**", "", *_summary_table(plan), ""]
    for refusal in plan.refusals:
        head.append(f"> :no_entry: {markup.text(str(refusal))}")
    for notice in plan.notices:
        head.append(f"> :warning: security: {markup.text(notice)}")
    if plan.refusals or plan.notices:
        head.append("")
    head += config_warnings(plan.warnings)
    shown = [d for d in plan.diffs if d.changed or d.error or d.diagnostics]
    # A section whose table rows alone exceed the budget is collapsed by _fit whatever else is shown:
    # collapse it before rendering thousands of rows only to drop them (a from-scratch shard has ~4,500).
    sections = [_collapsed(d, hint) if _rows_at_least(d, budget) > budget else "\n".join(_stack_section(d)) for d in shown]
    return _fit(head, shown, sections, hint, budget)


_ROW = len("| + | `` | `` |  |")


def _rows_at_least(d: StackDiff, budget: int) -> int:
    """A lower bound of the length of a section's table: each row holds at least its type and name."""
    short: dict[str, int] = {}
    total = 0
    for c in d.steps:
        t = c.resource.type
        if t not in short:
            short[t] = len(_short_type(t))
        total += _ROW + short[t] + len(c.resource.name)
        if total > budget:
            break
    return total


def _pointer(hint: str | None) -> str:
    if hint:  # the caller's own Markdown, never a value from config
        return f" ({hint})"
    return " (every step: the same command with `--format text` or `--format json`; in CI, the run's report artifact)"


def _collapsed(d: StackDiff, hint: str | None) -> str:
    return f"- {_code(d.stack)}: {markup.text(counts_phrase(d))}: collapsed to fit a comment{_pointer(hint)}\n"


def _fit(head: list[str], shown: list[StackDiff], sections: list[str], hint: str | None, budget: int) -> str:
    """Collapse the largest sections to their counts, with a pointer to the full report, until it fits."""
    top = "\n".join(head) + "\n"

    def total() -> int:
        return len(top) + sum(len(s) + 1 for s in sections)

    if total() > budget:
        for i in sorted(range(len(sections)), key=lambda i: len(sections[i]), reverse=True):
            sections[i] = _collapsed(shown[i], hint)
            if total() <= budget:
                break
    if total() > budget:
        # even the counts do not fit (thousands of stacks): the rest is one line, said before the cut
        tail = f"- and {{}} more stack(s){_pointer(hint)}\n"
        dropped = 0
        while sections and total() + len(tail) + 10 > budget:
            sections.pop()
            dropped += 1
        sections.append(tail.format(dropped))
    text = (top + "\n".join(sections)).rstrip() + "\n"
    if len(text) > budget:  # a head alone over the budget (thousands of refusals): say so, whole
        text = f"{head[0]}\n\nThe rest of the report is too long for a comment{_pointer(hint)}\n"
    return text


RENDERERS["markdown"] = to_markdown
