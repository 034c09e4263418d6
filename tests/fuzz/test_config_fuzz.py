"""The loader under generated documents, valid and broken: it raises nothing but ConfigError, writes
nothing, and a configuration it accepts compiles."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from condainfra.errors import ConfigError
from condainfra.project import Project

from .conftest import count

REPO = Path(__file__).resolve().parents[2]
ORG = "stacks/acme/org.yaml"
FEEDSTOCKS = "stacks/acme/feedstocks/a.yaml"
MIRROR = "stacks/mirror/mirror.yaml"

VALID_ORG = {
    "org": "acme",
    "settings": {"billing_email": "admin@acme.example"},
    "owners": ["alice", "bob"],
    "members": ["carol"],
    "teams": {"core": {"members": ["alice"], "repositories": {"tools": "push"}}},
    "repositories": {"tools": {"description": "tools", "topics": ["conda"]}},
    "secrets": {"TOKEN": {"visibility": "selected", "repositories": ["tools"]}},
    "feedstocks": {"shards": 2, "description": "A conda-smithy repository for {name}."},
}
VALID_FEEDSTOCKS = {"numpy": ["alice", "acme/core"], "scipy": {"maintainers": ["bob"], "archived": "true"}}
VALID_MIRROR = yaml.safe_load((REPO / MIRROR).read_text())

# what breaks parsers: YAML syntax, shell and path syntax, unicode, control characters, lone surrogates' bytes
TRICKY = st.sampled_from(
    ["", " ", "\n", "\t", ":", "- ", "{", "[", "&a", "*a", "!!python/object:os.system", "<<: *a", "---", "...", "%YAML 1.1",
     "yes", "null", "~", "1e3", "0x1F", "..", "../", "/", "\\", "$(id)", "'", '"', "#", "{name}", "{0}", "{nmae}", "é", "\u2028", "\x00", "\x7f", "🐍"]
)
SCALAR = st.one_of(st.text(max_size=12), TRICKY, st.integers(-5, 300), st.booleans(), st.none(), st.floats(allow_nan=True))
VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.one_of(st.text(max_size=8), TRICKY), inner, max_size=4), max_leaves=12)


@st.composite
def mutated(draw, valid: dict) -> bytes:
    """A valid document, with some of its values replaced, then some of its bytes."""
    doc = yaml.safe_load(yaml.safe_dump(valid))
    for _ in range(draw(st.integers(0, 3))):
        node = doc
        path = []
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node, key=str) if isinstance(node, dict) else range(len(node))))
            path.append((node, key))
            node = node[key]
        if path:
            parent, key = path[-1]
            parent[key] = draw(VALUE)
        elif isinstance(doc, dict):
            doc[draw(st.one_of(st.text(max_size=8), TRICKY))] = draw(VALUE)
    text = yaml.safe_dump(doc, allow_unicode=draw(st.booleans())).encode()
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        junk = draw(st.one_of(st.binary(max_size=4), TRICKY.map(lambda s: s.encode("utf-8", "surrogatepass"))))
        text = text[:at] + junk + text[at + draw(st.integers(0, 3)):]
    return text


def document(valid: dict):
    return st.one_of(
        mutated(valid),
        VALUE.map(lambda v: yaml.safe_dump(v).encode()),
        st.binary(max_size=64),
        st.lists(TRICKY, max_size=8).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
    )


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_mode) for p in sorted(root.rglob("*"))}


def load_and_compile(files: dict[str, bytes | None]) -> None:
    root = Path(tempfile.mkdtemp(prefix="condainfra-fuzz-"))
    try:
        (root / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            if data is not None:
                (root / rel).write_bytes(data)
        before = snapshot(root)
        try:
            project = Project.load(root)
        except ConfigError as exc:
            assert exc.issues, "a ConfigError names at least one problem"
            assert all(i.line >= 1 and i.path for i in exc.issues)
        else:
            for spec in project.stacks():
                project.compile(spec)  # validated config must compile: no KeyError, no IndexError
        assert snapshot(root) == before, "loading wrote to the project"
    finally:
        shutil.rmtree(root)


@given(org=document(VALID_ORG), feedstocks=st.one_of(st.none(), document(VALID_FEEDSTOCKS)))
def test_org_and_feedstock_files(org, feedstocks):
    count("org.yaml + feedstocks/*.yaml")
    load_and_compile({ORG: org, FEEDSTOCKS: feedstocks})


@given(mirror=document(VALID_MIRROR))
def test_mirror_file(mirror):
    count("mirror.yaml")
    load_and_compile({MIRROR: mirror})


def test_the_valid_documents_are_valid():
    root = Path(tempfile.mkdtemp())
    try:
        (root / "Pulumi.yaml").write_text("name: condainfra\n")
        for rel, data in {ORG: VALID_ORG, FEEDSTOCKS: VALID_FEEDSTOCKS, MIRROR: VALID_MIRROR}.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(yaml.safe_dump(data))
        project = Project.load(root)
        assert set(project.orgs["acme"].feedstocks) == {"numpy", "scipy"} and project.mirror is not None
    finally:
        shutil.rmtree(root)
