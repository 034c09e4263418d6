"""Bad runners config: each rule reported as `path:line: message`, exit 2 from validate, nothing written."""

from __future__ import annotations

import pytest

from tests.runners_fixture import CONFIG, RUNNERS, write_project


def reported(cli, root, tmp_path):
    result = cli("validate", "--root", str(root))
    out = tmp_path / "plan.md"
    planned = cli("plan", "--all", "--from-scratch", "--out", str(out), "--root", str(root))
    assert planned.code == 1 and not out.exists()  # nothing written on bad input
    assert result.code == 2 and "Traceback" not in result.err
    return result.err


def test_the_fixture_is_valid(cli, tmp_path):
    root = write_project(tmp_path / "p")
    assert cli("validate", "--root", str(root)).code == 0


def test_a_group_naming_an_undeclared_repository(cli, tmp_path):
    root = write_project(tmp_path / "p", CONFIG.replace("[numpy-feedstock, infra]", "[numpy-feedstock, scipy-feedstock]"))
    err = reported(cli, root, tmp_path)
    assert f"{RUNNERS}:12: orgs.acme.groups.cpu.repositories: repository 'scipy-feedstock' is not declared in acme's repositories or feedstocks" in err


def test_a_pool_bound_to_a_group_that_does_not_exist(cli, tmp_path):
    root = write_project(tmp_path / "p", CONFIG.replace("    group: gpu\n", "    group: gpus\n"))
    err = reported(cli, root, tmp_path)
    assert f"{RUNNERS}:17: pools.gpu-small.group: runner group 'gpus' is not declared for org 'acme'" in err


def test_a_pool_of_an_org_without_runner_groups(cli, tmp_path):
    root = write_project(tmp_path / "p", CONFIG.replace("  cpu:\n    org: acme\n", "  cpu:\n    org: other\n"))
    assert f"{RUNNERS}:24: pools.cpu.group: runner group 'cpu' is not declared for org 'other'" in reported(cli, root, tmp_path)


@pytest.mark.parametrize("repo, line", [("torch-feedstock", 9), ("website", 9)])
def test_a_public_repository_needs_allows_public_repositories(cli, tmp_path, repo, line):
    text = CONFIG.replace("        repositories: [torch-feedstock]\n        allows_public_repositories: true\n", f"        repositories: [{repo}]\n")
    err = reported(cli, write_project(tmp_path / "p", text), tmp_path)
    assert f"{RUNNERS}:{line}: orgs.acme.groups.gpu: '{repo}' is public; set allows_public_repositories: true on purpose" in err


def test_a_private_repository_needs_no_public_allowance(cli, tmp_path):
    text = CONFIG.replace("        repositories: [torch-feedstock]\n        allows_public_repositories: true\n", "        repositories: [infra]\n")
    assert cli("validate", "--root", str(write_project(tmp_path / "p", text))).code == 0


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("labels: [gpu, linux-64]", "labels: ['gpu,self-hosted']", ":18: pools.gpu-small.labels: 'gpu,self-hosted' is not a valid runner label"),
        ("instance_type: g4dn.xlarge", "instance_type: 'g4dn.xlarge; reboot'", ":19: pools.gpu-small.instance_type: String should match pattern"),
        (f"secret_arn: arn:aws:secretsmanager:eu-west-1", "secret_arn: hunter2 #", ":21: pools.gpu-small.registration.secret_arn: String should match pattern"),
        ("    min_size: 1\n", "    min_size: 2\n", ":22: pools.cpu: needs min_size <= desired_capacity <= max_size"),
        ("      gpu:\n", "      'gpu runners':\n", ":8: orgs.acme.groups.gpu runners: 'gpu runners' is not a valid runner group name"),
        ("        allows_public_repositories: true\n      cpu", "        allows_public_repositories: true\n        visibility: all\n      cpu", ":9: orgs.acme.groups.gpu: repositories are only allowed with visibility 'selected'"),
    ],
)
def test_hostile_or_inconsistent_values(cli, tmp_path, old, new, expected):
    assert old in CONFIG
    err = reported(cli, write_project(tmp_path / "p", CONFIG.replace(old, new, 1)), tmp_path)
    assert f"{RUNNERS}{expected}" in err, err


def test_no_cross_checks_when_the_orgs_do_not_load(cli, tmp_path):
    root = write_project(tmp_path / "p", CONFIG.replace("[numpy-feedstock, infra]", "[scipy-feedstock]"))
    (root / "stacks/acme/org.yaml").write_text("org: [\n")
    err = reported(cli, root, tmp_path)
    assert "stacks/acme/org.yaml:2: YAML syntax error" in err and "scipy-feedstock" not in err


def test_a_missing_user_data_script(cli, tmp_path):
    root = write_project(tmp_path / "p")
    (root / "stacks/runners/user-data.sh").unlink()
    assert "stacks/runners/user-data.sh:1: cannot read the runners' user-data script" in reported(cli, root, tmp_path)
