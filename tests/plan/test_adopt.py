"""`condainfra adopt`: a Pulumi bulk-import file whose every ID has its kind's documented format, and whose
entries the engine names with exactly the URNs the program registers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from condainfra.compiler import github as gh
from condainfra.compiler.resources import Resource, StackBuilder, ref, secret
from condainfra.plan.adopt import RULES, Skip, _Stack, build_import_file, import_id, write_import_file
from condainfra.project import Project
from tests.conftest import REPO


def _stack() -> tuple[StackBuilder, Resource]:
    builder = StackBuilder("acme", "condainfra")
    org = builder.add(gh.ORGANIZATION, "acme", custom=False)
    provider = builder.add(gh.PROVIDER, "acme", {"owner": "acme", "baseUrl": gh.GITHUB_API}, parent=org)
    return builder, provider


def _id(type_: str, inputs: dict, *, extra: list[tuple[str, str, dict]] = ()) -> str | Skip:
    builder, provider = _stack()
    made = {}
    for t, name, ins in extra:
        made[name] = builder.add(t, name, ins, provider=provider)
    inputs = {k: (ref(made[v[1]], v[2]) if isinstance(v, tuple) else v) for k, v in inputs.items()}
    r = builder.add(type_, "subject", inputs, provider=provider)
    return import_id(r, _Stack(builder.resources))


# (type, inputs, expected ID): each format as the provider's "## Import" section documents it
GITHUB_IDS = [
    (gh.REPOSITORY, {"name": "numpy-feedstock"}, "numpy-feedstock"),
    (gh.TEAM, {"name": "Python Helpers"}, "python-helpers"),  # looked up as a slug
    (gh.TEAM_MEMBERS, {"teamSlug": "numpy", "members": []}, "numpy"),
    (gh.TEAM_REPOSITORY, {"teamId": "numpy", "repository": "numpy-feedstock", "permission": "push"}, "numpy:numpy-feedstock"),
    (gh.MEMBERSHIP, {"username": "Alice", "role": "member"}, "acme:Alice"),
    (gh.ORG_SECRET, {"secretName": "BINSTAR_TOKEN", "value": secret("config:x")}, "BINSTAR_TOKEN"),
    (gh.ORG_SECRET_REPOSITORIES, {"secretName": "BINSTAR_TOKEN", "selectedRepositoryIds": []}, "BINSTAR_TOKEN"),
    ("github:index/repositoryFile:RepositoryFile", {"repository": "infra", "file": ".github/a:b.yml", "branch": "main"}, "infra:.github/a??b.yml:main"),
    ("github:index/repositoryFile:RepositoryFile", {"repository": "infra", "file": "README.md"}, "infra:README.md:"),
]


@pytest.mark.parametrize(("type_", "inputs", "expected"), GITHUB_IDS)
def test_github_import_ids(type_, inputs, expected):
    assert _id(type_, inputs) == expected


def test_vulnerability_alerts_are_imported_by_repository():
    assert _id("github:index/repositoryVulnerabilityAlerts:RepositoryVulnerabilityAlerts", {"repository": "numpy-feedstock", "enabled": True}) == "numpy-feedstock"


def test_a_team_reference_is_imported_by_the_team_slug():
    # the org stack names its own Team resource's id; a feedstock shard looks another stack's team up by slug
    by_ref = _id(gh.TEAM_REPOSITORY, {"teamId": ("ref", "t", "id"), "repository": "infra"}, extra=[(gh.TEAM, "t", {"name": "Core Devs"})])
    assert by_ref == "core-devs:infra"
    looked_up = {"$lookup": "github:index/getTeam:getTeam", "args": {"slug": "cuda", "summaryOnly": True}, "output": "id"}
    assert _id(gh.TEAM_REPOSITORY, {"teamId": looked_up, "repository": "cupy-feedstock"}) == "cuda:cupy-feedstock"
    assert isinstance(_id(gh.TEAM_REPOSITORY, {"teamId": {"$lookup": "x", "args": {}}, "repository": "r"}), Skip)


AWS_IDS = [
    ("aws:s3/bucket:Bucket", {"bucket": "mirror-store"}, [], "mirror-store"),
    ("aws:s3/bucketVersioning:BucketVersioning", {"bucket": "mirror-store"}, [], "mirror-store"),
    ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {"bucket": ("ref", "b", "bucket")}, [("aws:s3/bucket:Bucket", "b", {"bucket": "mirror-store"})], "mirror-store"),
    ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", {"bucket": "mirror-store"}, [], "mirror-store"),
    ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", {"bucket": "mirror-store"}, [], "mirror-store"),
    ("aws:iam/role:Role", {"name": "sync"}, [], "sync"),
    ("aws:iam/rolePolicy:RolePolicy", {"name": "store", "role": ("ref", "r", "name")}, [("aws:iam/role:Role", "r", {"name": "sync"})], "sync:store"),
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"policyArn": "arn:aws:iam::aws:policy/P", "role": ("ref", "r", "name")}, [("aws:iam/role:Role", "r", {"name": "exec"})], "exec/arn:aws:iam::aws:policy/P"),
    ("aws:iam/instanceProfile:InstanceProfile", {"name": "runner"}, [], "runner"),
    ("aws:ecr/repository:Repository", {"name": "quetz"}, [], "quetz"),
    ("aws:ecs/cluster:Cluster", {"name": "quetz"}, [], "quetz"),
    # the service names its cluster by ARN; the import ID wants the cluster's name
    ("aws:ecs/service:Service", {"name": "web", "cluster": ("ref", "c", "arn")}, [("aws:ecs/cluster:Cluster", "c", {"name": "quetz"})], "quetz/web"),
    ("aws:cloudwatch/logGroup:LogGroup", {"name": "/condainfra/quetz"}, [], "/condainfra/quetz"),
    ("aws:rds/instance:Instance", {"identifier": "quetz-db"}, [], "quetz-db"),
    ("aws:rds/subnetGroup:SubnetGroup", {"name": "quetz"}, [], "quetz"),
    ("aws:autoscaling/group:Group", {"name": "runner-cpu"}, [], "runner-cpu"),
]


@pytest.mark.parametrize(("type_", "inputs", "extra", "expected"), AWS_IDS)
def test_aws_import_ids(type_, inputs, extra, expected):
    assert _id(type_, inputs, extra=extra) == expected


ASSIGNED = [
    gh.ORG_SETTINGS, gh.RULESET, "github:index/actionsRunnerGroup:ActionsRunnerGroup",
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup", "aws:lb/loadBalancer:LoadBalancer",
    "aws:secretsmanager/secret:Secret", "aws:ecs/taskDefinition:TaskDefinition", "aws:acm/certificate:Certificate",
    "aws:acm/certificateValidation:CertificateValidation",
]


@pytest.mark.parametrize("type_", ASSIGNED)
def test_ids_the_cloud_assigns_are_left_out_with_a_reason(type_):
    skip = _id(type_, {"name": "x"})
    assert isinstance(skip, Skip)
    assert "created" in skip.reason or "cannot be imported" in skip.reason


def test_a_name_only_known_after_creation_is_not_guessed():
    assert isinstance(_id("aws:iam/role:Role", {}), Skip)  # auto-named: AWS picks the name
    assert isinstance(_id("aws:ecs/service:Service", {"name": "web", "cluster": ("ref", "c", "arn")}, extra=[("aws:ecs/cluster:Cluster", "c", {})]), Skip)


def test_an_all_digit_team_slug_is_not_read_as_a_team_id():
    skip = _id(gh.TEAM, {"name": "2048"})
    assert isinstance(skip, Skip) and "all digits" in skip.reason
    assert isinstance(_id(gh.TEAM_REPOSITORY, {"teamId": "2048", "repository": "2048-feedstock"}), Skip)


def test_every_kind_the_shipped_stacks_compile_to_has_a_rule():
    project = Project.load(REPO)
    kinds = {r.type for spec in project.stacks() for r in project.compile(spec) if r.custom and not r.type.startswith("pulumi:providers:")}
    assert kinds - set(RULES) == set()


def _urn_as_the_engine_names_it(stack: str, project: str, entry: dict, by_name: dict[str, dict]) -> str:
    """pulumi import's own rule (operations/import.go parseImportFile): the parent's qualified type, the
    entry's type and its logicalName; the root stack is left out of the chain."""
    qualified = entry["type"]
    parent = entry.get("parent")
    if parent:
        parent_urn = _urn_as_the_engine_names_it(stack, project, by_name[parent], by_name)
        qualified = f"{parent_urn.split('::')[2]}${qualified}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{entry.get('logicalName') or entry['name']}"


@pytest.mark.parametrize("stack", ["conda-forge", "runners", "dashboard", "mirror"])
def test_the_engine_names_every_entry_with_the_compiled_urn(stack):
    project = Project.load(REPO)
    spec = project.stack(stack)
    compiled = {r.urn: r for r in project.compile(spec)}
    built = build_import_file(project, spec)
    entries = built.document["resources"]
    by_name = {e["name"]: e for e in entries}
    assert len(by_name) == len(entries), "entry names must be unique in the file"
    urns = set()
    for entry in entries:
        urn = _urn_as_the_engine_names_it(spec.name, project.name, entry, by_name)
        assert urn in compiled, entry
        r = compiled[urn]
        assert entry["type"] == r.type
        assert ("id" in entry) == (r.custom and not r.type.startswith("pulumi:providers:"))
        assert entry.get("component", False) == (not r.custom)
        if r.provider:
            assert by_name[entry["provider"]]["type"].startswith("pulumi:providers:")
            assert _urn_as_the_engine_names_it(spec.name, project.name, by_name[entry["provider"]], by_name) == r.provider
        urns.add(urn)
    left_out = {item["urn"] for item in built.document["notImported"]}
    assert urns | left_out == set(compiled) and not urns & left_out


def test_providers_carry_their_configuration_and_no_secret():
    project = Project.load(REPO)
    built = build_import_file(project, project.stack("conda-forge"))
    (inputs,) = built.document["providerInputs"].values()
    assert inputs == {"baseUrl": gh.GITHUB_API, "owner": "conda-forge"}
    assert "$secret" not in json.dumps(built.document)


def test_the_org_stack_imports_its_repositories_teams_and_members():
    project = Project.load(REPO)
    built = build_import_file(project, project.stack("conda-forge"))
    ids = {(e["type"], e["id"]) for e in built.document["resources"] if "id" in e}
    assert (gh.REPOSITORY, "staged-recipes") in ids
    assert (gh.TEAM, "core") in ids
    assert (gh.MEMBERSHIP, "conda-forge:beckermr") in ids
    assert any(t == gh.TEAM_REPOSITORY and i.endswith(":admin-requests") for t, i in ids)
    kinds = {r.type for r, _ in built.skipped}
    assert kinds == {gh.ORG_SETTINGS, gh.RULESET}
    lines = built.skipped_lines()
    assert len(lines) == 2 and any("RepositoryRuleset" in line and "gh api /repos/ORG/REPO/rulesets" in line for line in lines)


def test_a_feedstock_shard_imports_each_feedstock(minimal):
    feeds = minimal / "stacks" / "acme" / "feedstocks" / "a.yaml"
    feeds.write_text("numpy: [alice, acme/core]\nscipy: []\n")
    project = Project.load(minimal)
    specs = [s for s in project.stacks() if s.kind == "feedstocks"]
    entries = [e for spec in specs for e in build_import_file(project, spec).document["resources"]]
    ids = sorted((e["type"].rsplit(":", 1)[-1], e["id"]) for e in entries if "id" in e)
    assert ("Repository", "numpy-feedstock") in ids and ("Repository", "scipy-feedstock") in ids
    assert ("TeamMembers", "numpy") in ids and ("TeamRepository", "numpy:numpy-feedstock") in ids
    assert ("TeamRepository", "core:numpy-feedstock") in ids  # the org/team maintainer's grant
    assert ("Team", "scipy") in ids


def test_the_file_is_written_whole_and_the_same_every_time(minimal, tmp_path):
    project = Project.load(minimal)
    spec = project.stack("acme")
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    count = write_import_file(project, spec, first)
    write_import_file(Project.load(minimal), spec, second)
    assert first.read_bytes() == second.read_bytes()
    document = json.loads(first.read_text())
    assert count == sum(1 for e in document["resources"] if "id" in e) > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_cli_writes_the_file_and_says_what_is_left_out(cli, minimal, tmp_path):
    out = tmp_path / "acme.import.json"
    result = cli("adopt", "--stack", "acme", "--out", str(out), "--root", str(minimal))
    assert result.code == 0, result.err
    assert "not imported: 1 OrganizationSettings" in result.out
    assert f"wrote {out}:" in result.out
    assert json.loads(out.read_text())["stack"] == "acme"


def test_cli_unknown_stack_and_missing_folder_are_messages(cli, minimal, tmp_path):
    result = cli("adopt", "--stack", "nope", "--root", str(minimal))
    assert result.code == 1 and "unknown stack 'nope'" in result.err
    result = cli("adopt", "--stack", "acme", "--out", str(tmp_path / "missing" / "x.json"), "--root", str(minimal))
    assert result.code == 1 and "does not exist" in result.err
    assert not (tmp_path / "missing").exists()


def test_default_output_is_in_the_git_ignored_working_folder(cli, minimal, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("adopt", "--stack", "acme", "--root", str(minimal))
    assert result.code == 0, result.err
    written = minimal / ".condainfra" / "adopt" / "acme.import.json"
    assert written.is_file() and json.loads(written.read_text())["stack"] == "acme"
    assert not list(tmp_path.glob("*.import.json"))
    ignored = subprocess.run(["git", "check-ignore", "-q", ".condainfra/adopt/acme.import.json"], cwd=REPO)
    assert ignored.returncode == 0  # the shipped .gitignore keeps it out of commits
