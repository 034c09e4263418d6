"""Writing imported feedstocks (and an org.yaml) deterministically, whole or not at all.

File layout. The importer owns *generated* files, one per first character of the feedstock name
(``a.yaml`` .. ``z.yaml``, ``0-9.yaml``, ``_.yaml``), each starting with :data:`GENERATED_MARK`.
A name's file depends on the name alone, so a bot that re-runs an import changes only the lines
of the feedstocks that really changed; entries are sorted by name, maintainers by login (case
folded), keys of an entry alphabetically, lists in flow style. Rendering the same entries twice
gives the same bytes.

Any other ``*.yaml`` in ``feedstocks/`` is *hand-written* (the shipped ``core.yaml`` and
``community.yaml``): an entry that lives there stays there, and is updated in place through a
ruamel.yaml round trip, which keeps the file's comments and order; a hand-written file is not
touched at all when none of its entries change. A comment inside a generated file would be lost,
so the import refuses to run until it is moved (to a hand-written file, or to the entry's PR).

Nothing is removed: a feedstock the sources no longer name keeps its entry (feedstocks are
archived, never deleted). Keys the importer does not know (``team:``, ``previously:``) are kept.

Writing (:mod:`.staged`): every file is rendered into a staging folder beside the target, the staged
org is loaded with the project's loader, and only then are the changed files moved into place, all
or none.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ..config.loader import FEEDSTOCK_DIR
from ..config.yamlfile import YamlDocument, load_yaml
from ..errors import ConfigError, CondainfraError, display_path, printable
from .staged import Staged, own_folder  # noqa: F401  (Staged: where `import github` takes it from)

SCHEMA_LINE = "# yaml-language-server: $schema=../../../docs/schemas/feedstocks.schema.json\n"
GENERATED_MARK = "# Written by `condainfra import`"
GENERATED_HEADER = SCHEMA_LINE + GENERATED_MARK + ": one file per first letter, sorted; edits to entries are kept, comments are not.\n"

_RESOLVER = yaml.resolver.Resolver()
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
_BOOL = TypeAdapter(bool)


@dataclass
class FeedstockUpdate:
    """What a source says about one feedstock; None: the source does not know, keep what is written."""

    maintainers: list[str] | None = None
    archived: bool | None = None


@dataclass
class WriteReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # declared, not named by the sources: left as written
    files: list[str] = field(default_factory=list)  # the files whose bytes changed
    warnings: list[str] = field(default_factory=list)


def generated_file(name: str) -> str:
    first = name[0].lower()
    if "a" <= first <= "z":
        return f"{first}.yaml"
    return "0-9.yaml" if first.isdigit() else "_.yaml"


def normalised(maintainers: list[str]) -> list[str]:
    """Sorted by login (case folded, then as written), each login once: the loader refuses a
    maintainer listed twice in any case, and a recipe's own order carries no meaning."""
    seen: set[str] = set()
    out = []
    for login in sorted(maintainers, key=lambda m: (m.lower(), m)):
        if login.lower() not in seen:
            seen.add(login.lower())
            out.append(login)
    return out


def _scalar(value: str) -> str:
    if _PLAIN.fullmatch(value) and _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == "tag:yaml.org,2002:str":
        return value
    return "'" + value.replace("'", "''") + "'"  # `yes`, `1e3`, `null`: strings to every YAML reader


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(_scalar(i) for i in items) + "]"


def render_entry(name: str, value: dict[str, Any]) -> str:
    """One entry, canonical: ``name: [maintainers]`` when that is all it says, else a block mapping."""
    extra = {k: v for k, v in value.items() if k != "maintainers" and not (k == "archived" and v is False)}
    if not extra:
        return f"{_scalar(name)}: {_flow(value['maintainers'])}\n"
    lines = [f"{_scalar(name)}:\n"]
    for key in sorted(value):
        item = value[key]
        if key == "archived":
            if item:
                lines.append("  archived: true\n")
        elif isinstance(item, list):
            lines.append(f"  {_scalar(key)}: {_flow(item)}\n")
        else:
            lines.append(f"  {_scalar(key)}: {_scalar(item)}\n")
    return "".join(lines)


def render_generated(entries: dict[str, dict[str, Any]]) -> str:
    return GENERATED_HEADER + "".join(render_entry(n, entries[n]) for n in sorted(entries))


@dataclass
class _File:
    name: str
    text: str
    doc: YamlDocument
    generated: bool


def _read_feedstock_files(folder: Path, root: Path) -> list[_File]:
    own_folder(folder, root)
    files = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        shown_as = printable(display_path(path, root))  # a file name is echoed in messages: inert
        if not path.is_file() or path.is_symlink():
            raise CondainfraError(f"{shown_as}: not a regular file; the import writes feedstock files itself")
        doc, issues = load_yaml(path, shown_as, strings_only=True)
        if doc is None or issues:
            raise ConfigError(issues)
        if not isinstance(doc.data, (dict, type(None))) and doc.data != "":
            raise ConfigError([doc.issue((), "expected a mapping of feedstock name to maintainers")])
        text = doc.text  # the bytes checked (size, aliases, depth) are the ones edited, not a second read
        generated = text.startswith(SCHEMA_LINE + GENERATED_MARK) or text.startswith(GENERATED_MARK)
        files.append(_File(path.name, text, doc, generated))
    return files


def _comment_lines(file: _File) -> list[int]:
    # names, logins and keys cannot hold '#': any '#' past the header starts a comment
    header = GENERATED_HEADER.count("\n")
    return [i for i, line in enumerate(file.text.splitlines(), 1) if i > header and "#" in line]


def _entry(doc: YamlDocument, name: str, value: Any) -> dict[str, Any]:
    """An entry as written, as a mapping with typed ``archived`` (the string-only reader sees text)."""
    if isinstance(value, list):
        return {"maintainers": list(value)}
    if not isinstance(value, dict) or not isinstance(value.get("maintainers", []), list):
        raise ConfigError([doc.issue((name,), f"{name}: expected a list of maintainers or a mapping with 'maintainers:'")])
    out = dict(value)
    out.setdefault("maintainers", [])
    if "archived" in out:
        try:
            out["archived"] = _BOOL.validate_python(out["archived"])
        except ValidationError:
            raise ConfigError([doc.issue((name, "archived"), f"{name}.archived: expected true or false")]) from None
    for key, item in out.items():
        if key not in ("archived",) and not (isinstance(item, str) or (isinstance(item, list) and all(isinstance(i, str) for i in item))):
            raise ConfigError([doc.issue((name, key), f"{name}.{key}: the import keeps only names and lists of names here; write it by hand elsewhere")])
    return out


_NOTHING = FeedstockUpdate()  # a source that names the feedstock and says nothing more


def _apply(entry: dict[str, Any], update: FeedstockUpdate) -> dict[str, Any]:
    out = dict(entry)
    if update.maintainers is not None:
        out["maintainers"] = normalised(update.maintainers)
    if update.archived is not None:
        out["archived"] = update.archived
    return out


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def key(e: dict[str, Any]) -> tuple:
        rest = {k: v for k, v in e.items() if k not in ("maintainers", "archived")}
        return normalised(e.get("maintainers", [])), bool(e.get("archived", False)), sorted(rest.items())

    return key(a) == key(b)


def plan_feedstock_files(org_dir: Path, root: Path, updates: dict[str, FeedstockUpdate]) -> tuple[dict[str, str | None], WriteReport]:
    """The new text of every feedstock file the updates change (file name -> text, None: remove
    it), and a report."""
    folder = org_dir / FEEDSTOCK_DIR
    report = WriteReport()
    files = _read_feedstock_files(folder, root)
    generated: dict[str, dict[str, dict[str, Any]]] = {}  # file -> name -> entry
    handwritten: dict[str, dict[str, dict[str, Any]]] = {}  # file -> name -> new entry (changed ones only)
    where: dict[str, str] = {}
    for file in files:
        if file.generated:
            lines = _comment_lines(file)
            if lines:
                raise CondainfraError(
                    f"{file.doc.path}:{lines[0]}: a comment in a file that `condainfra import` writes would be lost; "
                    "move it to a hand-written feedstock file (any other name than the letter files) and run the import again"
                )
        for name, value in (file.doc.data or {}).items():
            if name in where:
                raise ConfigError([file.doc.issue((name,), f"feedstock {name!r} is already declared in {FEEDSTOCK_DIR}/{where[name]}")])
            where[name] = file.name
            entry = _entry(file.doc, name, value)
            update = updates.get(name)
            if update is None:
                report.kept.append(name)
            new = entry if update is None or update == _NOTHING else _apply(entry, update)
            changed = new is not entry and not _same(entry, new)
            if changed:
                report.changed.append(name)
            if file.generated:
                generated.setdefault(file.name, {})
                generated.setdefault(generated_file(name), {})[name] = new
            elif changed:
                handwritten.setdefault(file.name, {})[name] = new
    by_name = {f.name: f for f in files}
    for name in sorted(updates.keys() - where.keys()):
        report.added.append(name)
        new: dict[str, Any] = {"maintainers": []}
        if name.lower().endswith("-feedstock"):  # the source lists the repository <name>-feedstock: confirmed, as checks.py asks
            new["repository"] = f"{name}-feedstock"
        generated.setdefault(generated_file(name), {})[name] = _apply(new, updates[name])
    out: dict[str, str | None] = {}
    for file_name, entries in generated.items():
        existing = by_name.get(file_name)
        if existing is not None and not existing.generated:
            raise CondainfraError(
                f"{existing.doc.path}: this hand-written file has the name `condainfra import` gives to the feedstocks starting "
                f"with {file_name.removesuffix('.yaml')!r}; rename it (its entries stay where they are) and run the import again"
            )
        if not entries:  # a letter file whose entries were all misplaced ones, now in their own files
            out[file_name] = None
            continue
        text = render_generated(entries)
        if existing is None or existing.text != text:
            out[file_name] = text
    for file_name, entries in handwritten.items():
        out[file_name] = _round_trip(by_name[file_name], entries)
    report.files = sorted(out)
    return out, report


def round_trip_yaml():
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.width = 4096  # never fold a long list of maintainers
    rt.preserve_quotes = True
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def flow_list(items: list[str]):
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def dump_round_trip(rt, data: Any) -> str:
    buffer = io.StringIO()
    rt.dump(data, buffer)
    return buffer.getvalue()


def _round_trip(file: _File, entries: dict[str, dict[str, Any]]) -> str:
    """A hand-written file with some entries changed, its comments, order and styles kept."""
    from ruamel.yaml.comments import CommentedMap

    rt = round_trip_yaml()
    data = rt.load(file.text)
    keys = {str(k): k for k in data}  # ruamel reads `1.0` or `null` as other types; the loader as text
    for name, entry in entries.items():
        if name not in keys:
            raise CondainfraError(f"{file.doc.path}: cannot update {name!r} in place (YAML reads that name as another type); quote it: '{name}'")
        name = keys[name]
        current = data[name]
        maintainers = entry["maintainers"]
        if isinstance(current, list):
            if not entry.get("archived"):
                current[:] = maintainers
                continue
            current = data[name] = CommentedMap([("maintainers", flow_list(maintainers))])
        if isinstance(current.get("maintainers"), list):
            current["maintainers"][:] = maintainers
        else:
            current["maintainers"] = flow_list(maintainers)
        if entry.get("archived"):
            current["archived"] = True
        elif "archived" in current:
            del current["archived"]
    return dump_round_trip(rt, data)
