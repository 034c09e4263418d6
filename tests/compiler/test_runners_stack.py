"""The runners stack: every security property of a pool, asserted on the compiled resources."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from condainfra.compiler import runners as ru
from condainfra.compiler.resources import REF
from condainfra.project import Project
from tests.runners_fixture import SECRET_ARN, write_project

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def compiled(tmp_path):
    project = Project.load(write_project(tmp_path / "p"))
    return project.compile(project.stack("runners"))


def of(resources, type_, name):
    (found,) = [r for r in resources if r.type == type_ and r.name == name]
    return found


def script(resources, pool):
    return base64.b64decode(of(resources, ru.LAUNCH_TEMPLATE, pool).inputs["userData"]).decode()


def test_launch_template_requires_imdsv2_and_encrypts_the_root_volume(compiled):
    for pool in ("gpu-small", "cpu"):
        lt = of(compiled, ru.LAUNCH_TEMPLATE, pool).inputs
        assert lt["metadataOptions"]["httpTokens"] == "required"
        assert lt["metadataOptions"]["httpPutResponseHopLimit"] == 1  # containers on the runner cannot reach it
        (root,) = lt["blockDeviceMappings"]
        assert root["ebs"]["encrypted"] == "true" and root["ebs"]["deleteOnTermination"] == "true"
        assert lt["imageId"] == "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
        assert lt["instanceInitiatedShutdownBehavior"] == "terminate"
        assert lt["vpcSecurityGroupIds"] == ["sg-0123456789abcdef0"]


def test_spot_and_on_demand_pools_and_their_sizes(compiled):
    spot = of(compiled, ru.AUTOSCALING_GROUP, "gpu-small").inputs
    assert spot["mixedInstancesPolicy"]["instancesDistribution"]["onDemandPercentageAboveBaseCapacity"] == 0
    assert spot["mixedInstancesPolicy"]["launchTemplate"]["launchTemplateSpecification"] == {"launchTemplateName": "condainfra-runner-gpu-small", "version": "$Latest"}
    assert "launchTemplate" not in spot and (spot["minSize"], spot["maxSize"], spot["desiredCapacity"]) == (0, 4, 0)
    demand = of(compiled, ru.AUTOSCALING_GROUP, "cpu").inputs
    assert demand["launchTemplate"] == {"name": "condainfra-runner-cpu", "version": "$Latest"} and "mixedInstancesPolicy" not in demand
    assert (demand["minSize"], demand["desiredCapacity"]) == (1, 1)
    assert demand["vpcZoneIdentifiers"] == ["subnet-0123456789abcdef0"]


def test_instance_role_may_only_read_its_registration_secret(compiled):
    trust = json.loads(of(compiled, ru.ROLE, "gpu-small").inputs["assumeRolePolicy"])["Statement"]
    assert trust == [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}}]
    policy = json.loads(of(compiled, ru.ROLE_POLICY, "gpu-small").inputs["policy"])["Statement"]
    assert policy == [{"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": SECRET_ARN}]
    with_key = json.loads(of(compiled, ru.ROLE_POLICY, "cpu").inputs["policy"])["Statement"]
    assert [s["Action"] for s in with_key] == ["secretsmanager:GetSecretValue", "kms:Decrypt"]
    assert with_key[1]["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}
    assert not any("*" in json.dumps(s["Action"]) or s["Resource"] == "*" for s in policy + with_key)
    # no managed policies, no other inline policy: the role's rights are exactly the above
    assert not [r for r in compiled if r.type == ru.ROLE_POLICY and r.name not in ("gpu-small", "cpu")]
    assert "managedPolicyArns" not in of(compiled, ru.ROLE, "gpu-small").inputs
    assert of(compiled, ru.INSTANCE_PROFILE, "gpu-small").inputs == {"name": "condainfra-runner-gpu-small", "role": "condainfra-runner-gpu-small"}


def test_the_secret_is_referenced_by_arn_and_its_value_never_compiled(compiled):
    from condainfra.config.runners import Registration

    assert set(Registration.model_fields) == {"kind", "secret_arn", "kms_key_arn"}  # no field could hold a value
    policies = [json.loads(r.inputs["policy"]) for r in compiled if r.type == ru.ROLE_POLICY]
    assert {s["Resource"] for p in policies for s in p["Statement"] if s["Action"] == "secretsmanager:GetSecretValue"} == {SECRET_ARN}
    assert f"REGISTRATION_SECRET_ARN={SECRET_ARN}" in script(compiled, "gpu-small")
    assert "REGISTRATION_KIND=token" in script(compiled, "cpu")


def test_user_data_registers_one_ephemeral_runner_into_the_pool_group_with_its_labels(compiled):
    text = script(compiled, "gpu-small")
    assert "--ephemeral" in text and "--disableupdate" in text
    assert "RUNNER_ORG=acme\nRUNNER_GROUP=gpu\nRUNNER_LABELS=gpu,linux-64\n" in text
    assert '--runnergroup "$RUNNER_GROUP" --labels "$RUNNER_LABELS"' in text
    assert "--uid-owner \"$RUNNER_USER\" -j REJECT" in text  # jobs cannot reach the role's credentials
    assert "trap finish EXIT" in text and "shutdown -h now" in text


def test_runner_groups_select_declared_repositories_by_looked_up_id(compiled):
    group = of(compiled, ru.ACTIONS_RUNNER_GROUP, "acme/cpu")
    assert group.inputs["visibility"] == "selected" and group.inputs["allowsPublicRepositories"] is True
    names = {r.urn: r.name for r in compiled if r.type == ru.REPOSITORY_LOOKUP}
    assert [names[v[REF]] for v in group.inputs["selectedRepositoryIds"]] == ["acme/numpy-feedstock", "acme/infra"]
    assert all(v["output"] == "repoId" for v in group.inputs["selectedRepositoryIds"])
    pool = of(compiled, ru.RUNNER_POOL, "cpu")
    assert pool.parent == of(compiled, ru.RUNNER_GROUP, "acme/cpu").urn  # a pool lives in its group
    assert not [r for r in compiled if r.type == "github:index/repository:Repository"]  # never managed here


HOSTILE = ["a'b", "$(touch /tmp/pwned)", "`id`", "x\ny", "'; rm -rf / #", "a b\"c", "\\", ""]


@pytest.mark.parametrize("value", HOSTILE)
def test_rendered_settings_are_shell_quoted(value, tmp_path):
    template = (REPO / "stacks/runners/user-data.sh").read_text()
    names = ru.SETTING.findall(ru.SETTINGS_BLOCK.search(template)["body"])
    rendered = ru.render_user_data(template, {n: value for n in names})
    block = ru.SETTINGS_BLOCK.search(rendered)[0]
    out = subprocess.run(["bash", "-c", block + '\nprintf "%s" "$RUNNER_LABELS"'], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout == value
    assert not Path("/tmp/pwned").exists()


def test_a_template_without_the_expected_settings_is_refused():
    from condainfra.errors import CondainfraError

    with pytest.raises(CondainfraError, match="settings block names"):
        ru.render_user_data("# --- settings: x ---\nOTHER=''\n# --- end of settings ---\n", {"RUNNER_ORG": "a"})


def shellcheck() -> str:
    # scripts/test installs shellcheck; a missing one must fail here, not skip
    path = shutil.which("shellcheck")
    assert path, "shellcheck is not installed (scripts/test installs it with apt-get)"
    return path


def test_user_data_script_passes_shellcheck(compiled, tmp_path):
    check = [shellcheck(), "--shell=bash", "--severity=style"]
    assert subprocess.run([*check, str(REPO / "stacks/runners/user-data.sh")], capture_output=True, text=True).stdout == ""
    for pool in ("gpu-small", "cpu"):
        rendered = tmp_path / f"{pool}.sh"
        rendered.write_text(script(compiled, pool))
        result = subprocess.run([*check, str(rendered)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


def test_shipped_runners_stack_is_listed_under_infra_and_fits_ec2_limits():
    project = Project.load(REPO)
    spec = project.stack("runners")
    assert spec.mission == "infra"
    resources = project.compile(spec)
    for lt in (r for r in resources if r.type == ru.LAUNCH_TEMPLATE):
        assert len(base64.b64decode(lt.inputs["userData"])) <= ru.USER_DATA_LIMIT
        assert lt.inputs["metadataOptions"]["httpTokens"] == "required"
