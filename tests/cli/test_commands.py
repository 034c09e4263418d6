from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

from condainfra.config.schema import SCHEMAS
from condainfra.project import STANDALONE_STACKS

REPO = Path(__file__).resolve().parents[2]


def test_stacks_lists_every_stack_with_mission_and_count(cli, workdir):
    result = cli("stacks", "--format", "json", "--root", str(workdir))
    assert result.code == 0
    rows = json.loads(result.out)
    names = [r["stack"] for r in rows]
    assert names[:3] == ["bioconda", "conda-forge", "conda-forge-feedstocks-00"]
    assert len(names) == 2 + 32 + len(STANDALONE_STACKS)  # every standalone stack ships a config
    missions = {r["stack"]: r["mission"] for r in rows}
    assert missions["mirror"] == "mirror" and missions["runners"] == "infra"
    assert set(missions.values()) == {"infra", "mirror"} | {s.mission for s in STANDALONE_STACKS}
    rendered = json.loads(cli("render", "--stack", "conda-forge", "--root", str(workdir)).out)
    assert rows[1]["resources"] == len(rendered["stacks"]["conda-forge"]["resources"])
    table = cli("stacks", "--root", str(workdir))
    assert table.out.splitlines()[0].split() == ["STACK", "MISSION", "KIND", "RESOURCES"]


def test_render_is_deterministic_json(cli, workdir):
    first = cli("render", "--all", "--root", str(workdir)).out
    second = cli("render", "--all", "--root", str(workdir)).out
    assert first == second
    document = json.loads(first)
    assert document["format"] == "condainfra-render/1" and document["project"] == "condainfra"


def test_schema_validates_the_shipped_files_and_rejects_typos(cli, tmp_path):
    org_schema = json.loads(cli("schema", "--kind", "org").out)
    feed_schema = json.loads(cli("schema", "--kind", "feedstocks").out)
    for path in (REPO / "stacks").glob("*/org.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), org_schema)
    for path in (REPO / "stacks").glob("*/feedstocks/*.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), feed_schema)
    broken = yaml.safe_load((REPO / "stacks/conda-forge/org.yaml").read_text())
    broken["teams"]["core"]["colour"] = "blue"
    try:
        jsonschema.validate(broken, org_schema)
    except jsonschema.ValidationError as exc:
        assert "colour" in exc.message
    else:
        raise AssertionError("the schema accepted an unknown key")
    assert cli("schema", "--out-dir", str(tmp_path)).code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.schema.json" for name in SCHEMAS)
    mirror_schema = json.loads(cli("schema", "--kind", "mirror").out)
    jsonschema.validate(yaml.safe_load((REPO / "stacks/mirror/mirror.yaml").read_text()), mirror_schema)


def test_shipped_editor_schemas_are_current():
    for name, make in SCHEMAS.items():
        shipped = json.loads((REPO / "docs" / "schemas" / f"{name}.schema.json").read_text())
        assert shipped == make(), f"docs/schemas/{name}.schema.json is stale: run `condainfra schema --out-dir docs/schemas`"


def test_installed_entry_point_exit_codes(workdir):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "condainfra", *args], cwd=workdir, capture_output=True, text=True)

    assert run("validate").returncode == 0
    assert run("plan", "--all", "--against", "HEAD").returncode == 0
    bad = run("plan", "--no-such-flag")
    assert bad.returncode == 1 and "no-such-flag" in bad.stderr and "Traceback" not in bad.stderr
    (workdir / "stacks/bioconda/org.yaml").write_text("org: [\n")
    broken = run("validate")
    assert broken.returncode == 2 and "stacks/bioconda/org.yaml:2: YAML syntax error" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_outside_a_project(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONDAINFRA_ROOT", raising=False)
    result = cli("validate")
    assert result.code == 1 and "no condainfra project" in result.err


def test_validate_says_what_will_not_converge_and_who_is_unmaintained(cli, workdir):
    feeds = workdir / "stacks" / "conda-forge" / "feedstocks" / "community.yaml"
    feeds.write_text(feeds.read_text() + "newpkg: [someone@example.org, otherorg/helpers]\norphan: []\n")
    result = cli("validate", "--root", str(workdir))
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert any("someone@example.org" in w for w in warnings) and any("otherorg/helpers" in w for w in warnings)
    assert "conda-forge: 2 of 18 feedstock(s) have no known maintainer" in result.out
    assert result.out.rstrip().endswith("ok: 2 org(s), 18 feedstock(s), 37 stack(s)")


def test_a_renamed_feedstock_stays_in_its_shard_and_is_renamed_in_place(cli, workdir):
    from condainfra.compiler.sharding import shard_of

    core = workdir / "stacks" / "conda-forge" / "feedstocks" / "core.yaml"
    text = core.read_text()
    assert "zlib: [groutr, isuruf, msarahan, ocefpaf]\n" in text
    new_name = next(n for n in (f"zlib-ng{i}" for i in range(100)) if shard_of(n, 32) != shard_of("zlib", 32))  # would hash elsewhere
    core.write_text(text.replace("zlib: [groutr, isuruf, msarahan, ocefpaf]\n", f"{new_name}:\n  maintainers: [groutr, isuruf, msarahan, ocefpaf]\n  previously: [zlib]\n"))
    result = cli("plan", "--all", "--format", "json", "--against", "HEAD", "--root", str(workdir))
    assert result.code == 2, result.err
    report = json.loads(result.out)
    assert report["refusals"] == [] and report["counts"]["delete"] == 0 and report["counts"]["create"] == 0
    (stack,) = [s for s in report["stacks"] if s["update"]]
    assert stack["stack"] == f"conda-forge-feedstocks-{shard_of('zlib', 32):02d}"
    renamed = [c for c in stack["update"] if "renamed_from" in c]
    assert renamed and any(c["name"] == f"{new_name}-feedstock" for c in renamed)


def test_help_is_printed_as_written():
    """Brackets in help text are data, not style tags (with Rich markup they vanished)."""
    result = subprocess.run([sys.executable, "-m", "condainfra", "import", "feedstocks", "--help"], capture_output=True, text=True,
                            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # help is wrapped at 80 columns whatever COLUMNS says
    assert "{output: [feedstocks]} JSON file" in text
    assert "{feedstock: [logins or org/team]} JSON" in text
