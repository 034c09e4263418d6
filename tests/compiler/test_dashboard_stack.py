"""The dashboard stack: every security property of Quetz's deployment, asserted on the compiled resources."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from condainfra.compiler import dashboard as da
from condainfra.compiler.resources import JSON, REF, SECRET
from condainfra.plan.diff import MASK
from condainfra.project import Project

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def resources():
    project = Project.load(REPO)
    return project.compile(project.stack("dashboard"))


def of(resources, type_, name=None):
    found = [r for r in resources if r.type == type_ and (name is None or r.name == name)]
    assert found, f"no {type_} {name or ''}"
    return found


def one(resources, type_, name=None):
    [r] = of(resources, type_, name)
    return r


def by_urn(resources):
    return {r.urn: r for r in resources}


def test_package_bucket_is_private_versioned_encrypted_with_lifecycle(resources):
    bucket = one(resources, "aws:s3/bucket:Bucket")
    assert bucket.protect and bucket.inputs["forceDestroy"] is False
    block = one(resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert one(resources, "aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"] == {"status": "Enabled"}
    sse = one(resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("AES256", "aws:kms")
    rules = one(resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    assert any(r.get("noncurrentVersionExpiration", {}).get("noncurrentDays") == 30 for r in rules)


def test_package_bucket_accepts_the_acl_quetz_writes_with(resources):
    # Quetz's S3 store writes with acl="private"; ACLs off (BucketOwnerEnforced) would refuse every upload,
    # and a write naming an ACL needs s3:PutObjectAcl
    ownership = one(resources, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerPreferred"}
    policy = one(resources, "aws:iam/rolePolicy:RolePolicy", "condainfra-quetz-task-packages").inputs["policy"][JSON]
    on_objects = next(s for s in policy["Statement"] if s["Resource"].endswith("/*"))
    assert {"s3:PutObject", "s3:PutObjectAcl"} <= set(on_objects["Action"])


def test_database_is_private_encrypted_backed_up_and_protected(resources):
    db = one(resources, da.DB_INSTANCE)
    i = db.inputs
    assert i["engine"] == "postgres" and i["publiclyAccessible"] is False and i["storageEncrypted"] is True
    assert i["backupRetentionPeriod"] >= 7 and i["deletionProtection"] is True
    assert i["skipFinalSnapshot"] is False and i["finalSnapshotIdentifier"]
    assert db.protect
    assert i["password"] == {SECRET: "config:dashboardDatabasePassword"}
    # in the private subnets
    urns = by_urn(resources)
    group = urns[i["dbSubnetGroupName"][REF]]
    subnets = [urns[s[REF]] for s in group.inputs["subnetIds"]]
    assert subnets and all("-private-" in s.name for s in subnets)
    private_cidrs = {s.inputs["cidrBlock"] for s in subnets}
    routes = [a for a in of(resources, da.ROUTE_TABLE_ASSOCIATION) if urns[a.inputs["subnetId"][REF]].inputs["cidrBlock"] in private_cidrs]
    assert routes == []  # no route to the internet gateway


def test_database_security_group_admits_only_the_service(resources):
    urns = by_urn(resources)
    db_sg = urns[one(resources, da.DB_INSTANCE).inputs["vpcSecurityGroupIds"][0][REF]]
    ingress = [r for r in of(resources, da.INGRESS_RULE) if r.inputs["securityGroupId"][REF] == db_sg.urn]
    assert len(ingress) == 1
    rule = ingress[0].inputs
    assert "cidrIpv4" not in rule and rule["fromPort"] == rule["toPort"] == 5432
    assert urns[rule["referencedSecurityGroupId"][REF]].name == "condainfra-quetz-service"
    # and the service itself is reachable from the load balancer only
    service_sg = urns[rule["referencedSecurityGroupId"][REF]]
    into_service = [r.inputs for r in of(resources, da.INGRESS_RULE) if r.inputs["securityGroupId"][REF] == service_sg.urn]
    assert [urns[r["referencedSecurityGroupId"][REF]].name for r in into_service] == ["condainfra-quetz-lb"]


def container(resources):
    task = one(resources, da.TASK_DEFINITION)
    [definition] = task.inputs["containerDefinitions"][JSON]
    return task, definition


def test_secrets_reach_the_task_only_by_arn(resources):
    task, c = container(resources)
    urns = by_urn(resources)
    assert {s["name"] for s in c["secrets"]} == {"DB_PASSWORD", "SESSION_SECRET", "GITHUB_CLIENT_SECRET"}
    for s in c["secrets"]:
        assert set(s["valueFrom"]) == {REF, "output"} and s["valueFrom"]["output"] == "arn"
        assert urns[s["valueFrom"][REF]].type == da.SECRET
    # Quetz takes a QUETZ_<SECTION>_<KEY> variable as the whole section, dropping the rendered config's other
    # keys there: the task sets none (the container's start writes the secrets into config.toml)
    assert not [e["name"] for e in (*c["environment"], *c["secrets"]) if e["name"].startswith("QUETZ_")]
    environment = json.dumps(c["environment"]).lower()
    for word in ("password", "client_secret", "session_secret", "secret ="):
        assert word not in environment
    # each secret's value comes from a Pulumi config secret, never from the YAML
    versions = of(resources, da.SECRET_VERSION)
    assert len(versions) == 3 and all(SECRET in v.inputs["secretString"] for v in versions)
    # the execution role may read exactly those secrets
    policy = one(resources, "aws:iam/rolePolicy:RolePolicy", "condainfra-quetz-execution-secrets").inputs["policy"][JSON]
    [statement] = policy["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert sorted(r[REF] for r in statement["Resource"]) == sorted(s["valueFrom"][REF] for s in c["secrets"])


def test_quetz_config_is_rendered_without_secrets(resources):
    _, c = container(resources)
    [config] = [e["value"] for e in c["environment"] if e["name"] == "CONDAINFRA_QUETZ_CONFIG"]
    parsed = tomllib.loads(config)
    assert parsed["github"] == {"client_id": "Ov23liCondainfraDash"}
    assert parsed["session"] == {"https_only": True}
    assert parsed["s3"]["bucket_name"] == "condainfra-quetz-packages"
    assert parsed["plugins"]["enabled"] == ["condainfra_dashboard"]
    assert parsed["condainfra_dashboard"]["channel"] == "conda-forge"
    assert "dev_mode" not in parsed["condainfra_dashboard"]
    assert "sqlalchemy" not in parsed and "secret" not in parsed["session"]
    # the bucket's own region's endpoint, not Quetz's default global one
    assert parsed["s3"]["url"] == "https://s3.us-east-2.amazonaws.com"


def test_rendered_config_reads_github_activity_within_a_tokens_hour(resources):
    """Production reads feedstocks' PRs, issues and CI state: the rendered plugin section sets a budget,
    the plugin's own settings parser takes it, and 4 runs an hour stay under a quarter of a token's 5,000."""
    from condainfra.dashboard.settings import parse_settings

    _, c = container(resources)
    [config] = [e["value"] for e in c["environment"] if e["name"] == "CONDAINFRA_QUETZ_CONFIG"]
    settings = parse_settings(tomllib.loads(config)["condainfra_dashboard"])
    assert settings.github_requests_per_run == 300
    assert settings.github_requests_per_run * 3600 / settings.refresh_seconds <= 5000 / 4


def test_task_role_may_use_the_package_bucket_and_nothing_else(resources):
    policy = one(resources, "aws:iam/rolePolicy:RolePolicy", "condainfra-quetz-task-packages").inputs["policy"][JSON]
    resources_named = {s["Resource"] for s in policy["Statement"]}
    assert resources_named == {"arn:aws:s3:::condainfra-quetz-packages", "arn:aws:s3:::condainfra-quetz-packages/*"}
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions <= {"s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject"}
    assert not any("*" in a for a in actions)
    task_role = [r for r in of(resources, "aws:iam/role:Role") if r.name.endswith("-task")]
    attachments = [a for a in of(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.inputs["role"][REF] == task_role[0].urn]
    assert attachments == []


def test_logs_go_to_cloudwatch_with_a_retention(resources):
    group = one(resources, da.LOG_GROUP)
    assert group.inputs["retentionInDays"] == 30
    _, c = container(resources)
    assert c["logConfiguration"]["logDriver"] == "awslogs"
    assert c["logConfiguration"]["options"]["awslogs-group"] == group.inputs["name"]


def test_front_redirects_http_terminates_tls_and_blocks_dummylogin(resources):
    urns = by_urn(resources)
    listeners = {r.inputs["port"]: r for r in of(resources, da.LISTENER)}
    assert listeners[80].inputs["defaultActions"] == [{"redirect": {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}, "type": "redirect"}]
    https = listeners[443].inputs
    assert https["protocol"] == "HTTPS" and https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    validation = urns[https["certificateArn"][REF]]
    certificate = urns[validation.inputs["certificateArn"][REF]]
    assert certificate.inputs == {"domainName": "dashboard.conda-forge.org", "validationMethod": "DNS"}
    rule = one(resources, da.LISTENER_RULE)
    assert rule.inputs["listenerArn"][REF] == listeners[443].urn and rule.inputs["priority"] == 1
    assert rule.inputs["actions"][0]["fixedResponse"]["statusCode"] == "404"
    paths = rule.inputs["conditions"][0]["pathPattern"]["values"]
    assert "/api/dummylogin" in paths and "/api/dummylogin/*" in paths and "/t/*/api/dummylogin/*" in paths


def test_health_check_path(resources):
    # tests/dashboard/test_server.py checks that a real Quetz with the plugin answers 200 there
    check = one(resources, da.TARGET_GROUP).inputs["healthCheck"]
    assert check["path"] == da.HEALTH_CHECK_PATH == "/api/channels" and check["matcher"] == "200"


def test_service_runs_on_fargate_behind_the_load_balancer(resources):
    urns = by_urn(resources)
    service = one(resources, da.ECS_SERVICE).inputs
    assert service["launchType"] == "FARGATE" and service["desiredCount"] == 1
    assert urns[service["loadBalancers"][0]["targetGroupArn"][REF]].type == da.TARGET_GROUP
    task, c = container(resources)
    assert task.inputs["requiresCompatibilities"] == ["FARGATE"] and c["image"].endswith("/condainfra-quetz:latest")
    assert c["portMappings"] == [{"containerPort": 8000, "protocol": "tcp"}]
    assert urns[task.inputs["taskRoleArn"][REF]].name == "condainfra-quetz-task"


def test_plan_shows_the_stack_and_masks_secrets(cli):
    result = cli("plan", "--stack", "dashboard", "--from-scratch", "--format", "json")
    assert result.code == 2
    plan = json.loads(result.out)
    [stack] = plan["stacks"]
    created = {(c["type"], c["name"]): c for c in stack["create"]}
    db = created[(da.DB_INSTANCE, "condainfra-quetz")]["inputs"]
    assert db["publiclyAccessible"] is False and db["password"] == MASK
    assert all(c["inputs"]["secretString"] == MASK for (t, _), c in created.items() if t == da.SECRET_VERSION)


def test_markdown_plan_shows_each_new_resource_in_full(cli):
    result = cli("plan", "--stack", "dashboard", "--from-scratch")
    assert result.code == 2
    text = result.out
    assert "`publiclyAccessible`: `false`" in text and "`storageEncrypted`: `true`" in text
    assert '"/api/dummylogin/*"' in text
    # policies are shown whole, references by what they point at, secrets masked
    assert '"Resource": "arn:aws:s3:::condainfra-quetz-packages/*"' in text
    assert "(Secret condainfra/dashboard/session-secret).arn" in text
    assert "`password`: `[secret]`" in text and "urn:pulumi:" not in text


def test_markdown_cells_keep_multiline_values_inside_the_table(cli):
    # the mirror stack's workflow file is a many-line input: it must not break the table
    result = cli("plan", "--stack", "mirror", "--from-scratch")
    rows = [line for line in result.out.splitlines() if line.startswith("| + |")]
    assert len(rows) == 49 and any("mirror-sync" in row for row in rows)  # the mirror stack with its read-only registry
    # inside the stack's section, every line up to its closing tag is a table row
    section = result.out.split("<summary><code>mirror</code>", 1)[1].split("</details>", 1)[0].splitlines()[1:]
    assert [line for line in section if line and not line.startswith("|")] == []


def test_a_named_github_token_reaches_the_task_only_by_arn(minimal):
    """Named under `secrets:`, a GitHub API token is one more Secrets Manager secret (its value a Pulumi config
    secret), given to the container as GITHUB_TOKEN by ARN and readable by the execution role; the shipped
    stack names none (the refresh then reads GitHub at the tokenless rate)."""
    (minimal / "stacks" / "dashboard").mkdir()
    text = (REPO / "stacks" / "dashboard" / "dashboard.yaml").read_text()
    (minimal / "stacks" / "dashboard" / "dashboard.yaml").write_text(text + "secrets:\n  github_token: condainfra/dashboard/github-token\n")
    project = Project.load(minimal)
    resources = project.compile(project.stack("dashboard"))
    _, c = container(resources)
    assert {s["name"] for s in c["secrets"]} == {"DB_PASSWORD", "SESSION_SECRET", "GITHUB_CLIENT_SECRET", "GITHUB_TOKEN"}
    [token] = [s for s in c["secrets"] if s["name"] == "GITHUB_TOKEN"]
    urns = by_urn(resources)
    holder = urns[token["valueFrom"][REF]]
    assert holder.type == da.SECRET and holder.inputs["name"] == "condainfra/dashboard/github-token"
    [version] = [v for v in of(resources, da.SECRET_VERSION) if v.inputs["secretId"][REF] == holder.urn]
    assert "dashboardGithubToken" in json.dumps(version.inputs["secretString"])
    assert "GITHUB_TOKEN" not in json.dumps(c["environment"])
    policy = one(resources, "aws:iam/rolePolicy:RolePolicy", "condainfra-quetz-execution-secrets").inputs["policy"][JSON]
    assert holder.urn in {r[REF] for r in policy["Statement"][0]["Resource"]}
    _, shipped = container(Project.load(REPO).compile(Project.load(REPO).stack("dashboard")))
    assert "GITHUB_TOKEN" not in {s["name"] for s in shipped["secrets"]}
