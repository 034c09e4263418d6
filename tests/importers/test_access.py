"""`condainfra import access`: the real access-list formats into the runners config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.runners_fixture import RUNNERS, write_project

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "conda-forge"

# small lists of our own in the formats read (see the module docstring of condainfra.importers.access);
# CIRUN is the normalised transcription, ACCESS_YML the same policies as cirun's own .access.yml
CIRUN = {
    "policies": {
        "torch-policy": {"repo": "torch-feedstock", "pull_request": True, "allowed": "users_from_json:open-gpu-server/access/conda-forge-users.json"},
        "numpy-policy": {"repo": "numpy-feedstock", "pull_request": False, "allowed": ["alice", "Carol-2"]},
        "ghost-policy": {"repo": "ghost-feedstock", "pull_request": True, "allowed": ["alice"]},
    },
    "access_control": [
        {"resource": "cirun-gpu-large", "policies": ["torch-policy", "ghost-policy"]},
        {"resource": "cirun-cpu", "policies": ["numpy-policy"]},
    ],
}
OPEN_GPU_URL = "https://raw.githubusercontent.com/Quansight/open-gpu-server/main/access/conda-forge-users.json"
ACCESS_YML = f"""\
version: 1
policies:
  - id: ghost-feedstock-policy
    repo: ghost-feedstock
    roles:
      - admin
      - maintain
      - write
    users:
      - alice
    pull_request: true
  - id: numpy-feedstock-policy
    repo: numpy-feedstock
    roles:
      - admin
      - maintain
      - write
    users:
      - alice
      - Carol-2
    pull_request: false
  - id: torch-feedstock-policy
    repo: torch-feedstock
    roles:
      - admin
      - maintain
      - write
    pull_request: true
    users_from_json: {OPEN_GPU_URL}
access_control:
  - resource: cirun-gpu-large
    policies:
      - torch-feedstock-policy
  - resource: cirun-cpu
    policies:
      - numpy-feedstock-policy
  - resource: cirun-gpu-large
    policies:
      - ghost-feedstock-policy
"""
USERS = {"users": [{"github": "dave", "id": 1}, {"github": "erin", "id": 2}]}
ADMIN_REQUESTS = "version: 1\naccess_control:\n  travis:\n    - feedstock: numpy-feedstock\n  cirun-gpu-large:\n    - feedstock: numpy-feedstock\n    - feedstock: example\n"


@pytest.fixture
def lists(tmp_path):
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "access.json").write_text(json.dumps(CIRUN))
    (folder / ".access.yml").write_text(ACCESS_YML)
    (folder / "users.json").write_text(json.dumps(USERS))
    (folder / "access_control.yml").write_text(ADMIN_REQUESTS)
    return folder


def run(cli, root, folder, *extra, cirun="access.json"):
    return cli("import", "access", "--org", "acme", "--cirun", str(folder / cirun), "--open-gpu-users", str(folder / "users.json"),
               "--admin-requests", str(folder / "access_control.yml"), "--root", str(root), *extra)


def test_policies_become_selected_repositories_and_undeclared_feedstocks_are_left_out(cli, tmp_path, lists):
    root = write_project(tmp_path / "p")
    result = run(cli, root, lists)
    assert result.code == 0, result.err
    assert "left out: ghost-feedstock (in cirun-gpu-large): not declared" in result.err
    assert "left out: example (in cirun-gpu-large): not declared" in result.err
    assert "skipped: travis: not a runner resource" in result.err
    groups = yaml.safe_load((root / RUNNERS).read_text())["orgs"]["acme"]["groups"]
    assert groups["cirun-gpu-large"] == {
        "visibility": "selected", "repositories": ["numpy-feedstock", "torch-feedstock"], "allows_public_repositories": True, "users": ["dave", "erin"],
    }
    assert groups["cirun-cpu"]["repositories"] == ["numpy-feedstock"] and groups["cirun-cpu"]["users"] == ["alice", "Carol-2"]
    assert set(groups) == {"gpu", "cpu", "cirun-gpu-large", "cirun-cpu"}  # hand-written groups and the pools stay
    assert "ghost" not in (root / RUNNERS).read_text()
    assert cli("validate", "--root", str(root)).code == 0


def test_an_import_that_would_break_the_config_writes_nothing(cli, tmp_path, lists):
    root = write_project(tmp_path / "p")
    (root / "stacks/acme/org.yaml").write_text((root / "stacks/acme/org.yaml").read_text().replace("  infra:\n    visibility: private\n", ""))
    before = (root / RUNNERS).read_text()
    result = run(cli, root, lists)  # the hand-written group `cpu` names `infra`, which is gone now
    assert result.code == 1 and "repository 'infra' is not declared" in result.err
    assert (root / RUNNERS).read_text() == before


@pytest.mark.parametrize("name, text, message", [
    ("access.json", '{"policies": "torch-policy", "access_control": []}', "access.json: policies: expected a list (cirun's .access.yml) or a mapping"),
    ("access.json", '{"policies": {}, "access_control": [{"resource": "cirun-x", "policies": [["torch-policy"]]}]}', "access_control.0.policies.0: expected a str"),
    ("users.json", "{not json", "users.json:1: not valid JSON"),
    ("access_control.yml", "access_control:\n  cirun-x: [{feedstock: 3}]\n", "access_control.yml:2: access_control.cirun-x.0.feedstock: expected a str"),
])
def test_malformed_lists_are_clear_errors(cli, tmp_path, lists, name, text, message):
    root = write_project(tmp_path / "p")
    (lists / name).write_text(text)
    result = run(cli, root, lists)
    assert result.code == 1 and message in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("name", [".access.yml", "access", "access.yaml"])
def test_cirun_access_yml_gives_what_the_normalised_form_gives(cli, tmp_path, lists, name):
    """The same policies in cirun's own shape (a list of policies with ids, roles, users or
    users_from_json; a resource listed twice) and in the transcription: the same file, the same report."""
    if name != ".access.yml":
        (lists / name).write_text(ACCESS_YML)  # told by its content, whatever it is called
    expected = run(cli, write_project(tmp_path / "json"), lists)
    result = run(cli, root := write_project(tmp_path / "yaml"), lists, cirun=name)
    assert expected.code == 0 and result.code == 0, result.err
    assert result.err == expected.err and result.out == expected.out.replace(str(tmp_path / "json"), str(tmp_path / "yaml"))
    assert (root / RUNNERS).read_text() == (tmp_path / "json" / RUNNERS).read_text()
    assert "left out: ghost-feedstock (in cirun-gpu-large): not declared" in result.err
    groups = yaml.safe_load((root / RUNNERS).read_text())["orgs"]["acme"]["groups"]
    assert groups["cirun-gpu-large"]["repositories"] == ["numpy-feedstock", "torch-feedstock"]
    assert groups["cirun-gpu-large"]["users"] == ["dave", "erin"]


def test_cirun_access_yml_hostile_and_unknown_values_are_left_out_and_reported(cli, tmp_path, lists):
    text = ACCESS_YML.replace("      - Carol-2\n", '      - "Carol-2\\n"\n').replace("    users_from_json: " + OPEN_GPU_URL + "\n", """\
    users_from_json: https://example.invalid/Quansight/open-gpu-server/main/access/conda-forge-users.json
    users: ["mallory", "not a login", "no"]
    teams:
      - torch
""") + """\
  - resource: cirun-cpu
    policies:
      - torch-feedstock-policy
      - missing-policy
  - resource: "cirun-gpu\\nleft out: forged"
    policies:
      - numpy-feedstock-policy
  - resource: "cirun-cpu\\n"
    policies:
      - numpy-feedstock-policy
"""
    (lists / ".access.yml").write_text(text)
    result = run(cli, root := write_project(tmp_path / "p"), lists, cirun=".access.yml")
    assert result.code == 0, result.err
    groups = yaml.safe_load((root / RUNNERS).read_text())["orgs"]["acme"]["groups"]
    assert groups["cirun-gpu-large"]["users"] == ["mallory", "no"]  # not the open-gpu list from elsewhere
    assert groups["cirun-cpu"]["repositories"] == ["numpy-feedstock", "torch-feedstock"]  # a resource listed twice adds up
    assert "is not open-gpu-server's conda-forge-users.json: its users are left out" in result.err
    assert "skipped: cirun-gpu-large: 'not a login' is not a GitHub login" in result.err
    assert "policy 'torch-feedstock-policy': teams 'torch' are not imported" in result.err
    assert "skipped: cirun-cpu: policy 'missing-policy' is not defined in .access.yml" in result.err
    assert "skipped: 'cirun-gpu\\nleft out: forged': not a runner resource" in result.err
    assert "skipped: 'cirun-cpu\\n': not a runner resource" in result.err  # a trailing newline is not a name
    assert "skipped: cirun-cpu: 'Carol-2\\n' is not a GitHub login" in result.err
    assert "\nleft out: forged" not in result.err and "forged" not in (root / RUNNERS).read_text()


@pytest.mark.parametrize("old, new, line_of, message", [
    ("      - Carol-2\n", "      - [Carol-2]\n", "      - [Carol-2]", "policies.1.users.1: expected a str"),
    ("  - id: numpy-feedstock-policy\n", "  - id: ghost-feedstock-policy\n", "  - id: ghost-feedstock-policy", "policies.1.id: policy 'ghost-feedstock-policy' is defined twice"),
    ("    users_from_json: ", "    user_from_json: ", "  - id: torch-feedstock-policy", "policies.2: policy 'torch-feedstock-policy': expected users, users_from_json or teams"),
    ("    pull_request: false\n", "    pull_request: [main]\n", "    pull_request: [main]", "policies.1.pull_request: expected a bool"),
    ("version: 1\n", "version: 2\n", "version: 2", "version: version 2 of cirun's access file is not known"),
    ("    repo: torch-feedstock\n", "    repo: {name: torch-feedstock}\n", "    repo: {name: torch-feedstock}", "policies.2.repo: expected a str"),
    ("      - numpy-feedstock-policy\n", "      - numpy-feedstock-policy\n     - x: [\n", "     - x: [", "YAML syntax error"),
])
def test_bad_cirun_access_yml_is_an_error_at_its_line_and_writes_nothing(cli, tmp_path, lists, old, new, line_of, message):
    text = ACCESS_YML.replace(old, new, 1)
    assert text != ACCESS_YML
    (lists / ".access.yml").write_text(text)
    root = write_project(tmp_path / "p")
    before = (root / RUNNERS).read_text()
    line = max(i for i, text_line in enumerate(text.splitlines(), 1) if text_line.startswith(line_of))  # the last one: a duplicate
    result = run(cli, root, lists, cirun=".access.yml")
    assert result.code == 1, result.out
    assert f"{lists / '.access.yml'}:{line}:" in result.err and message in result.err and "Traceback" not in result.err
    assert (root / RUNNERS).read_text() == before


@pytest.mark.skipif(not (SHARED / "cirun_access.json").is_file(), reason="the shared conda-forge data is not on this machine")
def test_the_real_policies_in_cirun_shape_give_what_their_transcription_gives(cli, workdir, tmp_path):
    """The shared transcription written back in the shape of cirun's .access.yml (its README:
    roles are [admin, maintain, write] everywhere, users_from_json is open-gpu-server's URL)."""
    real = json.loads((SHARED / "cirun_access.json").read_text())
    policies = []
    for name, policy in real["policies"].items():
        out = {"id": name, "repo": policy["repo"], "roles": ["admin", "maintain", "write"], "pull_request": policy["pull_request"]}
        if isinstance(policy["allowed"], str):
            assert policy["allowed"].endswith("open-gpu-server/access/conda-forge-users.json")
            out["users_from_json"] = OPEN_GPU_URL
        else:
            out["users"] = policy["allowed"]
        policies.append(out)
    access_yml = tmp_path / ".access.yml"
    access_yml.write_text(yaml.safe_dump({"version": 1, "policies": policies, "access_control": real["access_control"]}, sort_keys=False))
    results = {}
    for cirun in (SHARED / "cirun_access.json", access_yml):
        out = tmp_path / f"{cirun.name}.runners.yaml"
        result = cli("import", "access", "--cirun", str(cirun), "--open-gpu-users", str(SHARED / "open_gpu_server_users.json"),
                     "--admin-requests", str(SHARED / "admin_requests_access_control.yml"), "--out", str(out), "--root", str(workdir))
        assert result.code == 0, result.err
        results[cirun.name] = (out.read_text(), result.err)
    assert results["cirun_access.json"] == results[".access.yml"]


@pytest.mark.skipif(not (SHARED / "cirun_access.json").is_file(), reason="the shared conda-forge data is not on this machine")
def test_the_real_lists_against_the_shipped_orgs(cli, workdir, tmp_path):
    out = tmp_path / "runners.yaml"
    result = cli("import", "access", "--cirun", str(SHARED / "cirun_access.json"), "--open-gpu-users", str(SHARED / "open_gpu_server_users.json"),
                 "--admin-requests", str(SHARED / "admin_requests_access_control.yml"), "--out", str(out), "--root", str(workdir))
    assert result.code == 0, result.err
    groups = yaml.safe_load(out.read_text())["orgs"]["conda-forge"]["groups"]
    real = json.loads((SHARED / "cirun_access.json").read_text())
    declared = {f"{name}-feedstock" for f in (workdir / "stacks/conda-forge/feedstocks").glob("*.yaml") for name in yaml.safe_load(f.read_text())}
    for entry in real["access_control"]:
        named = {real["policies"][p]["repo"] for p in entry["policies"]}
        assert set(groups[entry["resource"]]["repositories"]) <= named & declared | {"pytorch-cpu-feedstock"}
        for repo in sorted(named - declared):
            assert f"left out: {repo} " in result.err
    assert groups["cirun-openstack-gpu-large"]["repositories"] == ["conda-forge-ci-setup-feedstock", "conda-smithy-feedstock", "pytorch-cpu-feedstock"]
    users = {u["github"] for u in json.loads((SHARED / "open_gpu_server_users.json").read_text())["users"]}
    assert users <= set(groups["cirun-openstack-gpu-large"]["users"])
    assert "skipped: travis: not a runner resource" in result.err


# --- issue 17: the access lists come from other repositories: bounded, and echoed inert


def test_aliases_that_expand_in_a_cirun_file_are_refused_at_their_line(cli, tmp_path, lists):
    # 7 levels took 1.5 GB; 5 (9**5 values) were loaded whole before
    levels = ["x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    levels += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 6)]
    (lists / ".access.yml").write_text("version: 1\n" + "".join(levels) + ACCESS_YML.removeprefix("version: 1\n"))
    root = write_project(tmp_path / "p")
    before = (root / RUNNERS).read_text()
    result = run(cli, root, lists, cirun=".access.yml")
    assert result.code == 1, result.err  # as every bad list in `import access`
    assert f"{lists / '.access.yml'}:6: aliases make this document more than 10,000 values larger than written" in result.err
    assert (root / RUNNERS).read_text() == before


@pytest.mark.parametrize("name", ["access.json", "users.json"])
def test_json_nested_100000_deep_is_one_clear_error(cli, tmp_path, lists, name):
    # was: internal error: RecursionError
    (lists / name).write_text('{"policies": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = run(cli, write_project(tmp_path / "p"), lists)
    assert result.code == 1 and f"{lists / name}: JSON nested deeper than 64 levels" in result.err, result.err
    assert "internal error" not in result.err


def test_a_json_list_over_the_size_cap_is_refused_before_it_is_read(cli, tmp_path, lists):
    from condainfra.importers.sources import MAX_SOURCE_BYTES

    with (lists / "users.json").open("w") as handle:  # a file that parsed whole before
        handle.write('{"users": [' + ", ".join(['{"github": "dave", "id": 1}'] * (MAX_SOURCE_BYTES // 28 + 1)) + "]}")
    result = run(cli, write_project(tmp_path / "p"), lists)
    assert result.code == 1 and f"{lists / 'users.json'}: " in result.err and "MiB such a file may hold" in result.err, result.err


def test_a_json_key_holding_a_newline_cannot_forge_a_line(cli, tmp_path, lists):
    forged = "stacks/runners/runners.yaml:1: all checks passed"
    (lists / "access.json").write_text(json.dumps({"policies": {f"p\n{forged}\n\x1b[2K": {"repo": 3}}, "access_control": []}))
    result = run(cli, write_project(tmp_path / "p"), lists)
    assert result.code == 1 and f"policies.p\\n{forged}\\n\\x1b[2K.repo: expected a str" in result.err, result.err
    assert not any(line.startswith(forged) for line in result.err.splitlines()) and "\x1b" not in result.err


def test_a_json_key_given_twice_with_different_values_is_refused(cli, tmp_path, lists):
    (lists / "users.json").write_text('{"users": [{"github": "dave", "id": 1}],\n "users": [{"github": "mallory", "id": 9}]}')
    result = run(cli, write_project(tmp_path / "p"), lists)
    assert result.code == 1 and f"{lists / 'users.json'}:2: 'users' is listed twice, with different values" in result.err, result.err
