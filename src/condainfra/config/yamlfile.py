"""YAML documents that remember where each value was written.

PyYAML's composer (libyaml, in C) gives every node its line; we keep the node
tree beside the plain data so that a validation error found later, by pydantic
or by a cross-file check, can still be reported as ``file:line``.

Every file read here may come from a fork's pull request, so the reader is bounded: the file's size
(checked before it is read), what aliases add, and the nesting depth. An alias (``*name``) is one
more copy of the value it names, so nine aliases of nine aliases ... make a 400-byte file hold 9**8
values: the composed node tree is walked once (each node once, aliases not followed) to count what
they add, before anything is built. Values are then built as copies, as before, never shared, so
downstream code and pydantic see a plain tree; the limit bounds the copies, and the depth is
checked as they are built. Each limit is one ``file:line`` error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..errors import ConfigIssue, display_path
from ..inputfile import InputFileError, read_capped
from ..jsondoc import MAX_DEPTH

MAX_FILE_BYTES = 4 * 1024 * 1024  # all 28,906 conda-forge feedstocks written into one file take 1 MB
MAX_ALIASED_VALUES = 10_000  # values that aliases may add to a document beyond those written

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StringLoader(_Loader):  # type: ignore[misc, valid-type]
    """Every scalar is the text written: for files of names and logins, where YAML 1.1's
    implicit types only do harm (a login `no` read as False, `1e3` as a float). pydantic
    still turns `true`/`false` into booleans where a field is one."""

    yaml_implicit_resolvers: dict = {}

    def resolve(self, kind, value, implicit):  # called by libyaml for every node: keep it trivial
        if kind is yaml.ScalarNode:
            return "tag:yaml.org,2002:str"
        return "tag:yaml.org,2002:seq" if kind is yaml.SequenceNode else "tag:yaml.org,2002:map"


@dataclass
class YamlDocument:
    path: str
    data: Any
    node: yaml.Node | None
    text: str = field(default="", repr=False)  # as read and checked: a writer that edits the file starts from these very bytes
    _keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = field(default_factory=dict, repr=False)

    def _children(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        # indexed once per mapping: a file of thousands of feedstocks is looked up thousands of times
        index = self._keys.get(id(node))
        if index is None:
            index = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    index.setdefault(key.value, (key, value))
            self._keys[id(node)] = index
        return index

    def line(self, loc: Iterable[Any] = ()) -> int:
        """The 1-based line of the value at ``loc`` (keys and list indexes); the
        nearest enclosing one when the exact spot does not exist (a missing key)."""
        node = self.node
        if node is None:
            return 1
        best = node.start_mark.line + 1
        for part in loc:
            found = None
            if isinstance(node, yaml.MappingNode):
                pair = self._children(node).get(str(part))
                if pair is not None:
                    best = pair[0].start_mark.line + 1
                    found = pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if 0 <= part < len(node.value):
                    found = node.value[part]
                    best = found.start_mark.line + 1
            if found is None:
                break
            node = found
        return best

    def key_lines(self) -> dict[str, int]:
        """The 1-based line of each key of the top-level mapping (a feedstock file's names), at once."""
        if not isinstance(self.node, yaml.MappingNode):
            return {}
        return {key: pair[0].start_mark.line + 1 for key, pair in self._children(self.node).items()}

    def issue(self, loc: Iterable[Any], message: str) -> ConfigIssue:
        return ConfigIssue(self.path, self.line(loc), message)


def load_yaml(path: Path, shown_as: str, strings_only: bool = False) -> tuple[YamlDocument | None, list[ConfigIssue]]:
    """Parse one file. Mapping keys are kept as the text written, so that a
    feedstock called ``yes`` or ``1.0`` stays a string; with ``strings_only`` every
    scalar is."""
    try:
        raw = read_capped(path, MAX_FILE_BYTES, shown_as)
    except InputFileError as exc:
        return None, [ConfigIssue(shown_as, 1, exc.reason)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [_decoding_issue(shown_as, raw, exc)]
    loader = (_StringLoader if strings_only else _Loader)(text)
    try:
        node = loader.get_single_node()
        # an alias is written `*name`: a file without a `*` has none (nearly all of them; the walk costs 10%)
        bounds = None if node is None or "*" not in text else _alias_issue(node, shown_as)
        if bounds is not None:
            return None, [bounds]
        issues: list[ConfigIssue] = []
        data = None if node is None else _construct(loader, node, shown_as, issues, 1)
    except _TooDeep as exc:
        return None, [ConfigIssue(shown_as, exc.line, f"nested deeper than {MAX_DEPTH} levels")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, [ConfigIssue(shown_as, line, f"YAML syntax error: {exc.problem or exc.context}")]
    except yaml.YAMLError as exc:
        return None, [ConfigIssue(shown_as, 1, f"YAML error: {exc}")]
    finally:
        loader.dispose()
    return YamlDocument(shown_as, data, node, text=text), issues


def _children(node: yaml.Node) -> list[tuple[yaml.Node, int]]:
    """A collection's child nodes, each with the line to blame for it (an alias has no mark of its own:
    its key's line in a mapping, the collection's in a sequence)."""
    if isinstance(node, yaml.MappingNode):
        return [pair for key, value in node.value for pair in ((key, key.start_mark.line + 1), (value, key.start_mark.line + 1))]
    if isinstance(node, yaml.SequenceNode):
        return [(child, node.start_mark.line + 1) for child in node.value]
    return []


def _alias_issue(root: yaml.Node, path: str) -> ConfigIssue | None:
    """What the aliases would make of the document once each is replaced by a copy of what it names: a
    loop, or more than MAX_ALIASED_VALUES values added, as a ``file:line`` issue. Iterative, and each
    node is walked once: an alias adds what its node already counted."""
    size: dict[int, int] = {}  # id(collection node) -> how many values it stands for, itself included
    on_path = {id(root)}
    added = 0
    stack: list[list] = [[root, iter(_children(root)), 1]]  # the node, its children still to walk, its values so far
    while stack:
        frame = stack[-1]
        child_line = next(frame[1], None)
        if child_line is None:
            stack.pop()
            on_path.discard(id(frame[0]))
            size[id(frame[0])] = frame[2]
            if stack:
                stack[-1][2] += frame[2]
            continue
        child, line = child_line
        if isinstance(child, yaml.ScalarNode):  # an alias of a scalar adds no more than it costs to write
            frame[2] += 1
            continue
        key = id(child)
        if key in on_path:
            return ConfigIssue(path, line, "an alias names a value that holds it: the document would never end")
        if key in size:
            added += size[key]
            if added > MAX_ALIASED_VALUES:
                return ConfigIssue(path, line, f"aliases make this document more than {MAX_ALIASED_VALUES:,} values larger than written")
            frame[2] += size[key]
            continue
        on_path.add(key)
        stack.append([child, iter(_children(child)), 1])
    return None


class _TooDeep(Exception):
    def __init__(self, line: int):
        self.line = line


def _decoding_issue(shown_as: str, raw: bytes, exc: UnicodeDecodeError) -> ConfigIssue:
    # the decoder counts bytes from the start of the file; an editor shows lines and columns
    line_start = raw.rfind(b"\n", 0, exc.start) + 1
    line = raw.count(b"\n", 0, exc.start) + 1
    column = len(raw[line_start : exc.start].decode("utf-8", errors="replace")) + 1
    return ConfigIssue(shown_as, line, f"not UTF-8: byte 0x{raw[exc.start]:02x} in column {column}")


def declared(path: Path) -> bool:
    """Whether something stands at ``path``, be it a file, a folder or a dangling link."""
    return path.is_symlink() or path.exists()


def not_a_file(path: Path, root: Path) -> ConfigIssue:
    """A config file's place taken by a folder or a dangling link: reported, never read as "not declared"."""
    return ConfigIssue(display_path(path, root), 1, "not a file: a folder or a link to nothing stands where the config file belongs")


def _construct(loader: Any, node: yaml.Node, path: str, issues: list[ConfigIssue], depth: int) -> Any:
    if depth > MAX_DEPTH:  # libyaml allows 1000 levels, more than Python's own stack; real config nests < 10
        raise _TooDeep(node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                issues.append(ConfigIssue(path, line, "mapping keys must be plain strings"))
                continue
            key = key_node.value
            if key in out:
                first = next(k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode) and k.value == key)
                issues.append(ConfigIssue(path, line, f"duplicate key {key!r} (first at line {first})"))
                continue
            out[key] = _construct(loader, value_node, path, issues, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, child, path, issues, depth + 1) for child in node.value]
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        return node.value
    return loader.construct_object(node, deep=True)
