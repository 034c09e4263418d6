"""The parsers of outside input under generated hostile documents (issue 17): YAML aliases and nesting,
JSON depth, and the messages that echo what they read.

Each target states what must hold for every input: a result within the limits, or one clear error
with a line; never another exception, never a message that spans lines or carries control characters."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from condainfra import jsondoc
from condainfra.config.yamlfile import MAX_ALIASED_VALUES, load_yaml
from condainfra.errors import ConfigIssue
from condainfra.importers.sources import BadSource, parse_json

from .conftest import count

_FOLDER = Path(tempfile.mkdtemp(prefix="condainfra-parse-fuzz-"))


def values_in(data: object) -> tuple[int, int]:
    """(values, depth) of a built document, counted without recursion."""
    values, deepest, stack = 0, 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        values += 1
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
            values += len(node)  # the keys
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return values, deepest


@st.composite
def aliased_yaml(draw) -> str:
    """Anchored lists and mappings, each holding scalars and aliases of anchors before it (or of itself,
    or of one that holds it); some nested in flow brackets; now and then a merge key."""
    lines = []
    anchors: list[str] = []
    mappings: list[str] = []  # what a merge key can name
    loops = draw(st.integers(0, 3)) == 0
    for i in range(draw(st.integers(1, 9))):
        items = []
        for _ in range(draw(st.integers(0, 12))):
            roll = draw(st.integers(0, 39))  # mostly aliases: chains that multiply; loops in one document of four
            kind = "self" if roll < 2 and loops else "nested" if roll < 4 else "alias" if roll < 28 else "scalar"
            if kind == "alias" and anchors:
                items.append(f"*{draw(st.sampled_from(anchors))}")
            elif kind == "self":
                items.append(f"*a{i}")
            elif kind == "nested":
                depth = draw(st.integers(1, 80))
                items.append("[" * depth + (f"*{anchors[-1]}" if anchors else "x") + "]" * depth)
            else:
                items.append(draw(st.sampled_from(["lol", "1", "yes", "null", "'q'", "~"])))
        if draw(st.booleans()) or not anchors:
            lines.append(f"k{i}: &a{i} [{', '.join(items)}]")
        else:
            merged = f"  <<: *{draw(st.sampled_from(mappings))}\n" if mappings and draw(st.booleans()) else ""
            body = "".join(f"  m{j}: {item}\n" for j, item in enumerate(items))
            lines.append(f"k{i}: &a{i}\n{merged}{body}".rstrip("\n"))
            mappings.append(f"a{i}")
        anchors.append(f"a{i}")
    return "\n".join(lines) + "\n"


def _checked_load(text: str, strings_only: bool) -> None:
    path = _FOLDER / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    doc, issues = load_yaml(path, "doc.yaml", strings_only=strings_only)
    assert all(isinstance(i, ConfigIssue) and i.line >= 1 for i in issues)
    if doc is None:
        assert len(issues) >= 1
        return
    values, depth = values_in(doc.data)
    # every value written takes at least one character: the rest is what aliases added
    assert values <= len(text) + MAX_ALIASED_VALUES, "aliases expanded beyond the limit"
    assert depth <= jsondoc.MAX_DEPTH


@given(text=aliased_yaml(), strings_only=st.booleans())
def test_yaml_aliases_and_nesting_stay_within_the_limits(text, strings_only):
    count("YAML expansion (aliases, merges, nesting)")
    _checked_load(text, strings_only)


JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=6))
JSON_VALUE = st.recursive(JSON_SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=10)


@st.composite
def deep_json(draw) -> bytes:
    """A document wrapped in up to 2,000 levels of lists and objects (or 100,000 of one kind), with
    now and then a byte cut, doubled or inserted."""
    inner = json.dumps(draw(JSON_VALUE))
    if draw(st.integers(0, 9)) == 0:
        depth = 100_000
        opens, closes = ["["] * depth, ["]"] * depth
    else:
        kinds = draw(st.lists(st.sampled_from(["list", "object"]), max_size=2000))
        opens = ["[" if k == "list" else '{"k": ' for k in kinds]
        closes = ["]" if k == "list" else "}" for k in reversed(kinds)]
    data = ("".join(opens) + inner + "".join(closes)).encode()
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"", b"[", b"}", b",", b'"', b"\xff", b'"k": 1, "k"'])) + data[at + draw(st.integers(0, 2)):]
    return data


@given(data=deep_json(), same=st.booleans())
def test_json_depth_is_one_clear_error(data, same):
    count("JSON depth (jsondoc and import sources)")
    try:
        value = jsondoc.loads(data, "doc.json")
    except jsondoc.JsonDocumentError as exc:
        assert str(exc).startswith("doc.json: ") and "\n" not in str(exc)
    else:
        assert values_in(value)[1] <= jsondoc.MAX_DEPTH
    try:
        parse_json(data, "src.json", (lambda a, b: a == b) if same else None)
    except BadSource as exc:
        assert str(exc).startswith("src.json") and "\n" not in str(exc)


HOSTILE_TEXT = st.text(alphabet=st.sampled_from(["a", "Z", "-", ":", " ", "\n", "\r", "\t", "\x1b", "\x00", "\x7f", "\x85", "\u2028", "\u202e", "\ufeff", "é", "\\"]), min_size=1, max_size=12)


@given(key=HOSTILE_TEXT, value=HOSTILE_TEXT, where=st.sampled_from(["top", "team", "feedstock"]))
def test_messages_that_echo_input_are_one_printable_line(key, value, where):
    count("message escaping (validate's messages)")
    with tempfile.TemporaryDirectory(dir=_FOLDER) as folder:
        _load_org(Path(folder), key, value, where)


def _load_org(root: Path, key: str, value: str, where: str) -> None:
    from condainfra.errors import ConfigError
    from condainfra.project import Project

    (root / "stacks" / "acme" / "feedstocks").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: condainfra\n")
    org = "org: acme\nsettings:\n  billing_email: a@b.example\nowners: [alice]\nfeedstocks: {}\n"
    feedstocks = "numpy: [alice]\n"
    if where == "top":
        org += f"{json.dumps(key)}: {json.dumps(value)}\n"
    elif where == "team":
        org += f"teams:\n  {json.dumps(key)}:\n    privacy: {json.dumps(value)}\n"
    else:
        feedstocks += f"{json.dumps(key)}: [{json.dumps(value)}]\n"
    (root / "stacks" / "acme" / "org.yaml").write_text(org)
    (root / "stacks" / "acme" / "feedstocks" / "a.yaml").write_text(feedstocks)
    try:
        Project.load(root)
    except ConfigError as exc:
        for issue in exc.issues:
            assert str(issue).isprintable(), repr(str(issue))
        assert len(str(exc).splitlines()) == len(exc.issues)
