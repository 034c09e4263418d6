"""The mirror stack: registry storage that is private, versioned, encrypted; a least-privilege sync role."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from condainfra.compiler import mirror as mi
from condainfra.project import Project

REPO = Path(__file__).resolve().parents[2]


def compiled():
    project = Project.load(REPO)
    return {r.type: r for r in project.compile(project.stack("mirror"))}


def test_bucket_is_private_versioned_encrypted_and_protected():
    r = compiled()
    assert r[mi.BUCKET].protect and r[mi.BUCKET].inputs["forceDestroy"] is False
    assert r[mi.VERSIONING].inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert r[mi.ENCRYPTION].inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    block = r[mi.PUBLIC_ACCESS_BLOCK].inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))


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
    assert workflow["permissions"] == {"id-token": "write", "contents": "read"}
    steps = workflow["jobs"]["sync"]["steps"]
    run = next(s["run"] for s in steps if s.get("name") == "Sync")
    assert 'condainfra mirror sync --from "$SOURCE" --to "$TO"' in run
    assert workflow["jobs"]["sync"]["env"]["TO"] == "oci://127.0.0.1:5000/mirrors"
    assert steps[1]["with"]["role-to-assume"] == "arn:aws:iam::123456789012:role/condainfra-mirror-sync"
    channels = [c["name"] for c in json.loads(json.dumps(workflow["jobs"]["sync"]["strategy"]["matrix"]["channel"]))]
    assert channels == ["conda-forge", "bioconda"]


def test_bad_mirror_config_is_reported_with_its_line(cli, workdir):
    path = workdir / "stacks/mirror/mirror.yaml"
    text = path.read_text().replace('  schedule: "17 */2 * * *"', '  schedule: "every hour"').replace("  bucket: condainfra-channel-mirror", "  bucket: Not_A_Bucket")
    path.write_text(text)
    result = cli("validate", "--root", str(workdir))
    assert result.code == 2
    assert "stacks/mirror/mirror.yaml:5: storage.bucket: String should match pattern" in result.err
    assert "stacks/mirror/mirror.yaml:14: sync.schedule: 'every hour' is not a five-field cron schedule" in result.err
