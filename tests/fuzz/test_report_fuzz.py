"""The report is data, never markup (issue 17): hostile values from config, state and `--against` files
(names, descriptions, keys, stack names, engine messages) rendered into the pull-request comment, then read
back with a real CommonMark parser (markdown-it-py, GFM tables on). Whatever the values:

* every `<details>` opens before it closes and closes once; the only raw HTML is the renderer's own;
* every table row has its header's number of cells (a `|` or a newline in a value would add or end one);
* no text outside code mentions anyone (`@login`);
* the comment fits the budget it was given.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from condainfra.compiler.resources import Resource
from condainfra.plan.diff import Change, ConfigChange, ResourceChange, StackDiff
from condainfra.plan.report import Plan, render
from condainfra.plan.safety import Refusal

from .conftest import count

PARSER = MarkdownIt("commonmark").enable("table").enable("strikethrough")
HOSTILE = st.sampled_from([
    "`", "``", "```", " ` ", "</details>", "<details>", "<summary>", "</summary>", "</code>", "|", "\\|", "\\", "\n", "\r\n",
    "\r", "\t", "@octocat", "@ghost-1", "<img src=x onerror=alert(1)>", "&lt;", "&amp;", "&#64;", "<!--", "-->", "*", "**", "_",
    "~~", "[x](javascript:alert(1))", "![i](http://x/i.png)", "<https://evil.example>", "# heading", "> quote", "- item",
    "1. item", "---", "<br>", "</td></tr></table>", "\x00", "\x1b[31m", "\u2028", "\u200b", "é", "→", "🐍", " ", "",
])
# three pieces, few draws each: hypothesis's cost is per draw, and hostile fragments are what matters
TEXT = st.builds(lambda a, b, c: a + b + c, HOSTILE, st.one_of(st.sampled_from(["", "numpy", "a b", "x-y"]), st.text(max_size=3)), HOSTILE)
# flat on purpose: a recursive strategy spent nine tenths of the run generating
VALUE = st.one_of(TEXT, st.lists(TEXT, max_size=3), st.dictionaries(TEXT, TEXT, max_size=2), st.integers(), st.none())
ACTIONS = ("create", "update", "replace", "delete", "release", "import", "drift")


@st.composite
def hostile_plan(draw) -> Plan:
    diffs = []
    for s in range(draw(st.integers(1, 3))):
        stack = draw(TEXT)
        d = StackDiff(stack, mission=draw(st.sampled_from(["infra", "mirror", "dashboard"])))
        for i in range(draw(st.integers(0, 5))):
            kind = draw(TEXT)
            name = draw(TEXT)
            urn = f"urn:pulumi:{stack}::condainfra::{kind}::{name}{i}"
            resource = Resource(urn, draw(st.sampled_from([kind, f"github:index/team:{kind}", "github:index/teamMembers:TeamMembers"])),
                                name, None, draw(st.dictionaries(TEXT, VALUE, max_size=2)))
            action = draw(st.sampled_from(ACTIONS))
            changes = [Change(draw(TEXT), draw(VALUE), draw(VALUE)) for _ in range(draw(st.integers(0, 2)))] if action in ("update", "replace", "drift") else []
            renamed = f"urn:pulumi:{stack}::condainfra::{kind}::{draw(TEXT)}" if action == "update" and draw(st.booleans()) else None
            reasons = [draw(TEXT)] if action == "replace" else []
            d.add(ResourceChange(action, resource, changes, reasons, renamed_from=renamed))
        d.config = [ConfigChange(draw(TEXT), draw(st.sampled_from(["added", "changed", "removed"])), draw(st.booleans()), draw(VALUE), draw(VALUE))
                    for _ in range(draw(st.integers(0, 2)))]
        d.diagnostics = [draw(TEXT) for _ in range(draw(st.integers(0, 2)))]
        d.error = draw(st.one_of(st.none(), TEXT))
        d.applied = draw(st.booleans())
        diffs.append(d)
    refusals = [Refusal(draw(TEXT), "repo-delete", draw(st.one_of(st.none(), st.just("--allow-repo-delete"))), draw(TEXT), draw(TEXT))
                for _ in range(draw(st.integers(0, 2)))]
    return Plan(draw(TEXT), diffs, refusals, [draw(TEXT) for _ in range(draw(st.integers(0, 2)))],
                kind=draw(st.sampled_from(["plan", "preview", "up", "drift"])))


_OWN_HTML = re.compile(r"^(?:<details><summary><code>[^<>]*</code>: [^<>]*</summary>|</details>)\s*$")
_MENTION = re.compile(r"@[A-Za-z0-9_-]")


def _cells(line: str) -> int:
    """GFM's cell count of a table row: pipes not escaped by a backslash, the outer ones excluded."""
    body = line.strip()
    pipes = len(re.findall(r"(?<!\\)(?:\\\\)*\|", body))
    return pipes - (body.startswith("|")) - (body.endswith("|") and not body.endswith("\\|")) + 1


def check_markdown(markdown: str) -> None:
    tokens = PARSER.parse(markdown)
    lines = markdown.split("\n")
    depth = 0
    for token in tokens:
        if token.type == "html_block":
            for line in token.content.strip().split("\n"):
                assert _OWN_HTML.match(line), f"raw HTML that is not the renderer's own: {line!r}"
                depth += line.count("<details>") - line.count("</details>")
                assert depth >= 0, "a </details> closes what was never opened"
                assert not _MENTION.search(line), f"a mention in a summary: {line!r}"
        elif token.type == "table_open":
            start, end = token.map
            rows = [line for line in lines[start:end] if line.strip()]
            widths = {_cells(row) for row in rows}
            assert len(widths) == 1, f"table rows of different widths {widths}: {rows}"
        elif token.type == "inline":
            for child in token.children or []:
                if child.type == "html_inline":
                    assert child.content == "<br>", f"raw inline HTML from a value: {child.content!r}"
                elif child.type == "text":
                    assert not _MENTION.search(child.content), f"a mention outside code: {child.content!r}"
                elif child.type in ("link_open", "image"):
                    raise AssertionError(f"a value made a link or an image: {child}")
    assert depth == 0, "a <details> is never closed"


@given(hostile_plan(), st.sampled_from([65_536 - 1_024, 4_000, 900]))
def test_hostile_report_values_never_become_markup(plan, budget):
    count("report markup")
    markdown = render(plan, "markdown", budget=budget)
    assert len(markdown) <= budget or markdown.count("\n") <= 3  # a head alone over a tiny budget is said in one line
    check_markdown(markdown)


def test_the_checker_sees_what_it_must():
    # the checks are live: raw HTML, an unclosed section, a broken row and a mention are each caught
    for bad in ("<details><summary>x</summary>\n\nbody\n", "a <img src=x> b\n", "| a | b |\n|---|---|\n| 1 | 2 | 3 |\n", "hi @octocat\n",
                "</details>\n", "[x](http://evil)\n"):
        try:
            check_markdown(bad)
        except AssertionError:
            continue
        raise AssertionError(f"not caught: {bad!r}")
