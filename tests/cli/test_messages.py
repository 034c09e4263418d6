"""Messages point where the user must look: a duplicate at the new entry with the first one named, the
first copy of a duplicate key, validate's warnings in the plan's comment, one line of success for an
`--out`, and the baseline named by branch and subject rather than a bare commit hash."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from tests.conftest import git

FEED = "stacks/conda-forge/feedstocks"


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_feedstock_copied_into_a_file_read_earlier_is_reported_at_the_copy(cli, workdir):
    core = workdir / FEED / "core.yaml"
    line = next(i for i, text in enumerate(core.read_text().splitlines(), 1) if text.startswith("zlib:"))
    _age(core, 3600)  # the original, untouched since the clone
    community = workdir / FEED / "community.yaml"  # read before core.yaml
    community.write_text(community.read_text() + "zlib: [someone]\n")
    new_line = len(community.read_text().splitlines())
    result = cli("validate", "--root", str(workdir))
    assert result.code == 2
    assert f"{FEED}/community.yaml:{new_line}: feedstock 'zlib' is already declared at {FEED}/core.yaml:{line}" in result.err, result.err
    assert f"{FEED}/core.yaml:{line}:" not in result.err


def test_a_feedstock_copied_into_a_file_read_later_is_reported_at_the_copy(cli, workdir):
    community = workdir / FEED / "community.yaml"
    first = next(i for i, text in enumerate(community.read_text().splitlines(), 1) if re.match(r"[a-z]", text))
    name = community.read_text().splitlines()[first - 1].split(":")[0]
    _age(community, 3600)
    core = workdir / FEED / "core.yaml"
    core.write_text(core.read_text() + f"{name}: [someone]\n")
    result = cli("validate", "--root", str(workdir))
    assert result.code == 2
    new_line = len(core.read_text().splitlines())
    assert f"{FEED}/core.yaml:{new_line}: feedstock '{name}' is already declared at {FEED}/community.yaml:{first}" in result.err, result.err


def test_a_duplicate_key_says_where_the_first_copy_is(cli, workdir):
    core = workdir / FEED / "core.yaml"
    lines = core.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("zlib:"))
    core.write_text(core.read_text() + "zlib: [someone]\n")
    result = cli("validate", "--root", str(workdir))
    assert result.code == 2
    assert f"{FEED}/core.yaml:{len(lines) + 1}: duplicate key 'zlib' (first at line {line})" in result.err, result.err


def test_the_plan_comment_carries_validates_warnings(cli, workdir):
    community = workdir / FEED / "community.yaml"
    community.write_text(community.read_text() + "newpkg: [someone@example.org, otherorg/helpers]\n")
    warnings = [w for w in cli("validate", "--root", str(workdir)).err.splitlines() if w.startswith("warning:")]
    assert len(warnings) == 2
    result = cli("plan", "--all", "--against", "HEAD", "--root", str(workdir))
    assert result.code == 2, result.err
    shown = [line for line in result.out.splitlines() if line.startswith("> :warning: config:")]
    assert len(shown) == 2
    assert any("otherorg/helpers" in line and "community.yaml" in line for line in shown)
    assert not any("@example" in line for line in shown)  # escaped: no mention (a word joiner after @)


def test_every_out_says_what_it_wrote(cli, workdir, tmp_path):
    rendered = cli("render", "--stack", "bioconda", "--out", str(tmp_path / "r.json"), "--root", str(workdir))
    assert rendered.code == 0
    count = len(json.loads((tmp_path / "r.json").read_text())["stacks"]["bioconda"]["resources"])
    assert rendered.out == f"wrote {tmp_path / 'r.json'}: 1 stack(s), {count} resource(s)\n"
    planned = cli("plan", "--all", "--against", "HEAD", "--out", str(tmp_path / "p.md"), "--root", str(workdir))
    assert planned.code == 0 and planned.out.startswith("Plan: No changes") and len(planned.out.splitlines()) == 1
    schemas = cli("schema", "--out-dir", str(tmp_path))
    assert schemas.code == 0 and schemas.out.startswith("wrote ") and len(schemas.out.splitlines()) == 1


def test_the_default_baseline_is_named_by_branch_and_subject(cli, workdir):
    git(workdir, "checkout", "-q", "-b", "feature")
    community = workdir / FEED / "community.yaml"
    community.write_text(community.read_text() + "newpkg: [someone]\n")
    git(workdir, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qam", "Add newpkg")
    short = git(workdir, "rev-parse", "--short", "main").strip()
    result = cli("plan", "--all", "--format", "text", "--root", str(workdir))
    assert result.code == 2, result.err
    assert f"against main (merge base {short}: shipped stacks)." in result.out.splitlines()[0], result.out
