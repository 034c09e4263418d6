"""`condainfra import access`: the real access-list formats into the runners config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.runners_fixture import RUNNERS, write_project

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "conda-forge"

# small copies in the real formats (see the module docstring of condainfra.importers.access)
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
USERS = {"users": [{"github": "dave", "id": 1}, {"github": "erin", "id": 2}]}
ADMIN_REQUESTS = "version: 1\naccess_control:\n  travis:\n    - feedstock: numpy-feedstock\n  cirun-gpu-large:\n    - feedstock: numpy-feedstock\n    - feedstock: example\n"


@pytest.fixture
def lists(tmp_path):
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "access.json").write_text(json.dumps(CIRUN))
    (folder / "users.json").write_text(json.dumps(USERS))
    (folder / "access_control.yml").write_text(ADMIN_REQUESTS)
    return folder


def run(cli, root, folder, *extra):
    return cli("import", "access", "--org", "acme", "--cirun", str(folder / "access.json"), "--open-gpu-users", str(folder / "users.json"),
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
    ("access.json", '{"policies": [], "access_control": []}', "access.json: policies: expected a mapping"),
    ("users.json", "{not json", "users.json: not valid JSON"),
    ("access_control.yml", "access_control:\n  cirun-x: [{feedstock: 3}]\n", "access_control.cirun-x.0.feedstock: expected a str"),
])
def test_malformed_lists_are_clear_errors(cli, tmp_path, lists, name, text, message):
    root = write_project(tmp_path / "p")
    (lists / name).write_text(text)
    result = run(cli, root, lists)
    assert result.code == 1 and message in result.err and "Traceback" not in result.err


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
