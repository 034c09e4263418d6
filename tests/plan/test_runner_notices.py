"""The plan summary reports a public repository gaining a GPU runner group; it does not refuse it."""

from __future__ import annotations

import json

from tests.conftest import git
from tests.runners_fixture import CONFIG, RUNNERS, write_project


def committed(tmp_path):
    root = write_project(tmp_path / "p")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.email=t@x.invalid", "-c", "user.name=t", "add", "-A")
    git(root, "-c", "user.email=t@x.invalid", "-c", "user.name=t", "commit", "-qm", "runners")
    return root


def plan(cli, root, text):
    (root / RUNNERS).write_text(text)
    result = cli("plan", "--stack", "runners", "--against", "HEAD", "--format", "json", "--root", str(root))
    assert result.code == 2, result.err  # a change, not a refusal
    return json.loads(result.out)


def test_public_repository_added_to_a_gpu_group_is_a_notice(cli, tmp_path):
    root = committed(tmp_path)
    result = plan(cli, root, CONFIG.replace("[torch-feedstock]", "[torch-feedstock, numpy-feedstock]"))
    assert result["notices"] == ["public repository acme/numpy-feedstock gains GPU runner group acme/gpu: anyone can open a pull request there and run on it"]
    assert result["summary"].endswith("1 security notice(s): review them.")
    markdown = cli("plan", "--stack", "runners", "--against", "HEAD", "--root", str(root)).out
    assert "> :warning: security: public repository acme/numpy-feedstock gains GPU runner group acme/gpu" in markdown


def test_private_repositories_and_cpu_groups_are_not_notices(cli, tmp_path):
    root = committed(tmp_path)
    text = CONFIG.replace("[torch-feedstock]", "[torch-feedstock, infra]").replace("[numpy-feedstock, infra]", "[numpy-feedstock, infra, website]")
    assert plan(cli, root, text)["notices"] == []


def test_a_group_getting_a_gpu_pool_brings_its_public_repositories_to_the_gpus(cli, tmp_path):
    root = committed(tmp_path)
    text = CONFIG.replace("    labels: [cpu]\n", "    labels: [cpu]\n    instance_type: p4d.24xlarge\n")
    assert plan(cli, root, text)["notices"] == [
        "public repository acme/numpy-feedstock gains GPU runner group acme/cpu: anyone can open a pull request there and run on it"
    ]


def test_an_unchanged_plan_has_no_notices(cli, tmp_path):
    root = committed(tmp_path)
    result = cli("plan", "--stack", "runners", "--against", "HEAD", "--format", "json", "--root", str(root))
    assert result.code == 0 and json.loads(result.out)["notices"] == []
