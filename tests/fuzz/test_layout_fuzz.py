"""Repodata entries and OCI references against the mirror's layout (mirror/layout.py, read here, not changed):
tags are valid or refused, escaping round-trips where the layout promises it, and no name leaves its place."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from condainfra.errors import CondainfraError
from condainfra.mirror import layout
from condainfra.mirror.registry import OciTarget

from .conftest import count

# the distribution spec's tag grammar, applied to the whole string
OCI_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
OCI_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
ESCAPES = (("+", "__p__"), ("!", "__e__"), ("=", "__eq__"))

# conda's version and build characters, and what a hostile channel may put there instead
VERSION_CHARS = st.sampled_from(list("0123456789abcxyzABC._+!") + ["_"])
HOSTILE_CHARS = st.sampled_from(list("-=/\\\n\r\t :@#%\x00") + ["é", "٣", "𝟘", "ß", "İ", "\u200b", "..", "__p__", "__e__"])
CONDA_VERSION = st.text(VERSION_CHARS, min_size=1, max_size=20)
CONDA_BUILD = st.text(st.sampled_from(list("0123456789abcdefh_.")), min_size=1, max_size=20)
ANY_PART = st.lists(st.one_of(VERSION_CHARS, HOSTILE_CHARS, st.characters()), max_size=16).map("".join)
CONDA_NAME = st.text(st.sampled_from(list("abcz019_.-")), min_size=1, max_size=30)


def untag(tag: str) -> tuple[str, str]:
    version, build = tag.split("-", 1)
    for char, spelled in ESCAPES:
        version, build = version.replace(spelled, char), build.replace(spelled, char)
    return version, build


@given(version=ANY_PART, build=ANY_PART)
@example(version="1.0", build="h0_0\n")  # `$` in a regex also matches before a final newline
def test_a_tag_is_valid_or_refused(version, build):
    count("tag_for, any input")
    tag = layout.tag_for(version, build)
    assert tag is None or OCI_TAG.fullmatch(tag), f"tag_for({version!r}, {build!r}) = {tag!r} is not a valid OCI tag"


@given(version=CONDA_VERSION, build=CONDA_BUILD)
def test_escaping_round_trips_for_conda_versions(version, build):
    count("tag_for round trip")
    # the layout spells + ! = as __p__ __e__ __eq__; text that already holds such a spelling cannot come back
    assume(not any(spelled in version or spelled in build for _, spelled in ESCAPES))
    assume("__" not in version and "__" not in build)
    tag = layout.tag_for(version, build)
    assume(tag is not None)  # longer than 128 characters once escaped
    assert untag(tag) == (version, build)


@given(a=st.tuples(CONDA_VERSION, CONDA_BUILD), b=st.tuples(CONDA_VERSION, CONDA_BUILD))
def test_two_builds_never_share_a_tag(a, b):
    count("tag_for collisions")
    assume("__" not in "".join((*a, *b)))  # a version spelling an escape has no tag at all
    ta, tb = layout.tag_for(*a), layout.tag_for(*b)
    assert a == b or ta is None or ta != tb, f"{a} and {b} share the tag {ta!r}"


def test_no_collision_of_an_escaped_and_a_literal_version():
    # a version that already spells an escape has no tag: it would share `1+`'s
    assert layout.tag_for("1+", "0") == "1__p__-0" and layout.tag_for("1__p__", "0") is None


@given(name=CONDA_NAME, prefix=st.sampled_from(["", "mirrors", "a/b"]), subdir=st.sampled_from(layout.KNOWN_SUBDIRS))
def test_a_package_repository_stays_under_its_subdir(name, prefix, subdir):
    count("repository names")
    try:
        repo = layout.repository(prefix, "conda-forge", subdir, name)
    except ValueError:
        # refused: only names that cannot be one repository of their own (sync rejects them first)
        assert name in ("", "repodata.json") or not name[0].isalnum() and name[0] != "_" or "/" in name
        return
    if not layout.valid_repository(repo):
        return
    parent = layout.repodata_repository(prefix, "conda-forge", subdir).removesuffix("/repodata.json")
    assert repo.startswith(parent + "/")
    rest = repo[len(parent) + 1:]
    assert OCI_COMPONENT.fullmatch(rest) and rest not in (".", "..")


def test_no_package_repository_clashes_with_the_repodata():
    with pytest.raises(ValueError):
        layout.repository("m", "c", "noarch", "repodata.json")
    record = {"name": "repodata.json", "version": "1", "build": "0"}
    assert "repodata.json" in layout.filename_problem("repodata.json-1-0.conda", record, "packages.conda")


@given(name=ANY_PART)
def test_a_hostile_name_never_yields_a_deeper_valid_repository(name):
    count("repository names, hostile")
    try:
        repo = layout.repository("mirrors", "conda-forge", "noarch", name)
    except ValueError:
        return  # refused outright: nothing to escape
    assert not layout.valid_repository(repo) or repo.count("/") == 3, f"{name!r} -> {repo!r}"


def test_a_name_with_a_slash_is_no_repository():
    with pytest.raises(ValueError):
        layout.repository("mirrors", "conda-forge", "noarch", "x/y")


def test_an_empty_name_is_no_repository():
    with pytest.raises(ValueError):
        layout.repository("mirrors", "conda-forge", "noarch", "")


@given(filename=ANY_PART.map(lambda s: s + ".conda") | ANY_PART)
def test_stem_of_never_adds_a_separator(filename):
    count("stem_of")
    stem = layout.stem_of(filename)
    assert filename.startswith(stem) and stem.count("/") == filename.count("/")


HOSTS = st.one_of(st.sampled_from(["127.0.0.1:5000", "localhost", "[::1]:443", "[::1", "host:99999", "host:-1", "u:p@host", "host:port", ""]), st.text(max_size=12))
PATHS = st.one_of(st.sampled_from(["", "/", "/m", "/a/b", "/UPPER", "/a//b", "/../x", "/%2e%2e"]), st.text(max_size=12))


@given(scheme=st.sampled_from(["oci://", "oci:", "http://", ""]), host=HOSTS, path=PATHS, insecure=st.booleans())
@example(scheme="oci://", host="127.0.0.1:99999", path="/m", insecure=True)
@example(scheme="oci://", host="[::1", path="/m", insecure=False)
def test_an_oci_reference_parses_or_is_a_message(scheme, host, path, insecure):
    count("oci:// references")
    try:
        target = OciTarget.parse(scheme + host + path, insecure=insecure)
    except CondainfraError:
        return
    assert target.prefix and OCI_COMPONENT.fullmatch(target.prefix.split("/")[0])
    assert "@" not in target.host
