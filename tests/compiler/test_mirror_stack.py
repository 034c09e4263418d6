"""The mirror stack: registry storage that is private, versioned, encrypted; a least-privilege sync role."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from condainfra.compiler import mirror as mi
from condainfra.compiler.aws import OWNERSHIP
from condainfra.compiler.resources import JSON
from condainfra.project import Project

REPO = Path(__file__).resolve().parents[2]


def compiled():
    project = Project.load(REPO)
    out = {}
    for r in project.compile(project.stack("mirror")):
        out.setdefault(r.type, r)  # the sync job's role and policy come before the read registry's
    return out


def test_bucket_is_private_versioned_encrypted_and_protected():
    r = compiled()
    assert r[mi.BUCKET].protect and r[mi.BUCKET].inputs["forceDestroy"] is False
    assert r[mi.VERSIONING].inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert r[mi.ENCRYPTION].inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    block = r[mi.PUBLIC_ACCESS_BLOCK].inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))


def test_acls_are_off_and_the_sync_registry_writes_the_one_acl_such_a_bucket_accepts():
    # a bucket with ACLs off refuses distribution's default x-amz-acl "private" (AccessControlListNotSupported)
    r = compiled()
    assert r[OWNERSHIP].inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    workflow = yaml.safe_load(r[mi.REPOSITORY_FILE].inputs["content"])
    setup = "\n".join(step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"])
    assert setup.count("objectacl: bucket-owner-full-control") == setup.count("storage: {s3:") > 0


def test_lifecycle_expires_timestamped_repodata_tags_but_never_latest():
    rules = compiled()[mi.LIFECYCLE].inputs["rules"]
    expiring = [rule for rule in rules if "expiration" in rule]
    prefixes = [rule["filter"]["prefix"] for rule in expiring]
    assert "docker/registry/v2/repositories/mirrors/conda-forge/linux-64/repodata.json/_manifests/tags/20" in prefixes
    latest = "docker/registry/v2/repositories/mirrors/conda-forge/linux-64/repodata.json/_manifests/tags/latest/current/link"
    stamped = "docker/registry/v2/repositories/mirrors/conda-forge/linux-64/repodata.json/_manifests/tags/2026.11.24.04.00.00/current/link"
    assert not any(latest.startswith(p) for p in prefixes)
    assert any(stamped.startswith(p) for p in prefixes)
    assert all(rule["expiration"]["days"] == 30 for rule in expiring)


def test_sync_role_is_least_privilege_and_bound_to_one_branch():
    r = compiled()
    trust = json.loads(r[mi.ROLE].inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == "repo:conda-forge/condainfra:ref:refs/heads/main"
    policy = json.loads(r[mi.ROLE_POLICY].inputs["policy"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions <= {"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"}
    resources = {s["Resource"] for s in policy["Statement"]}
    assert resources == {"arn:aws:s3:::condainfra-channel-mirror", "arn:aws:s3:::condainfra-channel-mirror/*"}
    assert not any("*" == res or res.startswith("arn:aws:s3:::*") for res in resources)


def test_the_workflow_is_valid_yaml_that_runs_mirror_sync_on_schedule():
    r = compiled()[mi.REPOSITORY_FILE].inputs
    assert r["file"] == ".github/workflows/mirror-sync.yml" and r["repository"] == "condainfra"
    workflow = yaml.safe_load(r["content"])
    assert workflow[True]["schedule"] == [{"cron": "17 */2 * * *"}]  # YAML 1.1 reads the key `on` as True
    assert workflow["permissions"] == {"id-token": "write", "contents": "read", "packages": "write"}  # packages: ghcr.io
    assert workflow["concurrency"] == {"group": "mirror-sync", "cancel-in-progress": False}  # one run per channel at a time
    steps = workflow["jobs"]["sync"]["steps"]
    run = next(s["run"] for s in steps if s.get("name") == "Sync one shard")
    assert 'condainfra mirror sync --from "$SOURCE" --channel "$CHANNEL" --subdir "$SUBDIR" --shard "$SHARD" --run "$RUN"' in run
    assert '--to "oci://127.0.0.1:5000/mirrors" --insecure' in run and '--to "oci://ghcr.io/conda-forge/mirrors"' in run
    assert steps[1]["with"]["role-to-assume"] == "arn:aws:iam::123456789012:role/condainfra-mirror-sync"
    # fan-out over (channel, subdir, shard), with each subdir's shard count from mirror.yaml
    jobs = workflow["jobs"]["sync"]["strategy"]["matrix"]["include"]
    linux = [j["shard"] for j in jobs if (j["channel"], j["subdir"]) == ("conda-forge", "linux-64")]
    assert linux == [f"{k}/21" for k in range(1, 22)]
    assert [j["shard"] for j in jobs if (j["channel"], j["subdir"]) == ("bioconda", "osx-64")] == ["1/1"]
    # fan-in: one publish per channel after every shard, even when one failed
    publish = workflow["jobs"]["publish"]
    assert publish["needs"] == "sync" and publish["if"] == "${{ !cancelled() }}"
    assert [c["name"] for c in publish["strategy"]["matrix"]["channel"]] == ["conda-forge", "bioconda"]
    assert 'condainfra mirror publish --from "$SOURCE" --channel "$CHANNEL" --run "$RUN"' in next(s["run"] for s in publish["steps"] if s.get("name") == "Publish")
    assert workflow["permissions"]["packages"] == "write"


def test_the_read_registry_is_read_only_behind_https_with_blobs_redirected_to_s3():
    from condainfra.compiler import aws_service as svc

    project = Project.load(REPO)
    resources = project.compile(project.stack("mirror"))
    by_type: dict = {}
    for r in resources:
        by_type.setdefault(r.type, []).append(r)
    [container] = by_type[svc.TASK_DEFINITION][0].inputs["containerDefinitions"][JSON]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert json.loads(env["REGISTRY_STORAGE_MAINTENANCE_READONLY"]) == {"enabled": True}
    assert env["REGISTRY_STORAGE_REDIRECT_DISABLE"] == "false" and env["REGISTRY_STORAGE_S3_BUCKET"] == "condainfra-channel-mirror"
    [policy] = [r for r in by_type[mi.ROLE_POLICY] if r.name == "condainfra-mirror-task-read"]
    actions = {a for s in policy.inputs["policy"][JSON]["Statement"] for a in s["Action"]}
    assert actions == {"s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject"}  # it cannot write the mirror
    listeners = {r.name: r for r in by_type[svc.LISTENER]}
    assert listeners["condainfra-mirror-https"].inputs["protocol"] == "HTTPS"
    assert by_type[svc.ECS_SERVICE][0].inputs["launchType"] == "FARGATE"
    assert by_type[svc.CERTIFICATE][0].inputs["domainName"] == "mirror.conda-forge.org"
    assert by_type[svc.VPC][0].parent.endswith("condainfra:mirror:Network::condainfra-mirror")


def test_plan_from_scratch_shows_the_read_path(cli):
    result = cli("plan", "--stack", "mirror", "--from-scratch", "--format", "text")
    assert result.code == 2
    for shown in ("ReadRegistry", "condainfra-mirror-https", "condainfra-mirror-anonymous-token", "mirror.conda-forge.org", "TaskDefinition condainfra-mirror", "Service condainfra-mirror"):
        assert shown in result.out, shown


def test_client_config_lists_every_read_path_in_priority_order(cli):
    result = cli("mirror", "client-config")
    assert result.code == 0, result.err
    assert ('"https://conda.anaconda.org/conda-forge" = ["oci://ghcr.io/conda-forge/mirrors/conda-forge", '
            '"oci://mirror.conda-forge.org/mirrors/conda-forge", "https://conda.anaconda.org/conda-forge"]') in result.out
    assert '"https://conda.anaconda.org/bioconda" = [' in result.out


def test_bad_mirror_config_is_reported_with_its_line(cli, workdir):
    path = workdir / "stacks/mirror/mirror.yaml"
    text = path.read_text().replace('  schedule: "17 */2 * * *"', '  schedule: "every hour"').replace("  bucket: condainfra-channel-mirror", "  bucket: Not_A_Bucket")
    path.write_text(text)
    result = cli("validate", "--root", str(workdir))
    assert result.code == 2
    assert "stacks/mirror/mirror.yaml:5: storage.bucket: String should match pattern" in result.err
    assert "stacks/mirror/mirror.yaml:14: sync.schedule: 'every hour' is not a five-field cron schedule" in result.err
