"""The deployed container's start path, run outside Docker: the image's entry point (the same script
the Dockerfile names) with the environment and secrets the compiled task definition gives, against a
real PostgreSQL. Secrets Manager, RDS, S3 and GitHub cannot exist here: the secrets are given as
environment (as ECS does), the database is a throwaway local cluster, S3 is moto's server (a stand-in
for AWS S3, a local process on loopback, stopped with its whole process group) and GitHub's REST API is
a local stand-in answering in its shapes. Nothing leaves loopback: the bot status and feedstock outputs
are local files, the rendered S3 endpoint and GitHub API point at the stand-ins (or at a closed
loopback port when a test needs neither)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy
import tomli_w

from condainfra.compiler import aws
from condainfra.compiler import dashboard as da
from condainfra.compiler.resources import JSON
from condainfra.config import quetz as quetz_config
from condainfra.dashboard import demo, production
from condainfra.dashboard import quetz_adapter as quetz
from condainfra.dashboard.deployment import free_port
from condainfra.project import Project

from .conftest import new_database, wait_until, write_sources
from .standins import STAND_IN_KEYS, S3StandIn, github_stand_in, stop_group  # noqa: F401 (github_stand_in: a fixture)
from .test_github_activity import FakeGitHub

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "docker" / "quetz-entrypoint.sh"
VENV_BIN = Path(sys.executable).parent
# every character special to URLs, to ConfigParser's interpolation, to TOML and to shells, and the `=`
# padding of `openssl rand -base64 32`
NASTY_PASSWORD = "p%3D@:/#?&+ %(here)s'\"$`;\\" + base64.b64encode(bytes(range(200, 223))).decode()
SESSION_SECRET = "session%secret=/+" + "S" * 20
CLIENT_SECRET = "client#secret@" + "C" * 20
CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens there: a test that needs no S3 or GitHub never leaves loopback


@pytest.fixture(scope="module")
def compiled():
    project = Project.load(REPO)
    return project.compile(project.stack("dashboard"))


@pytest.fixture(scope="module")
def task_container(compiled):
    [task] = [r for r in compiled if r.type == da.TASK_DEFINITION]
    [container] = task.inputs["containerDefinitions"][JSON]
    return container


@pytest.fixture(scope="module")
def task_role_policy(compiled) -> dict:
    """The policy the stack gives the task role on the package bucket (compiler/dashboard.py)."""
    [policy] = [r for r in compiled if r.type == "aws:iam/rolePolicy:RolePolicy" and r.name == f"{da.NAME}-task-packages"]
    return policy.inputs["policy"][JSON]


def task_environment(container, sources: dict, host: str, port: int, database: str, user: str, password: str,
                     s3_url: str = CLOSED_PORT) -> dict[str, str]:
    """The container's environment as ECS gives it: the task definition's plain values (the database's
    address, an output, replaced by the local cluster's) and its secrets' values."""
    plain = {e["name"]: e["value"] for e in container["environment"]}
    assert set(plain) == {quetz_config.CONFIG_ENV, *quetz_config.DATABASE_ENV}
    assert plain["DB_NAME"] == database and plain["DB_USER"] == user  # the local database mirrors the stack's names
    config = tomllib.loads(plain[quetz_config.CONFIG_ENV])
    # the outside sources, pointed at local files or stand-ins (no request leaves loopback); the S3 store's
    # rendered endpoint (the bucket region's) at the stand-in: bucket, region and the rest stay as rendered
    config[quetz_config.PLUGIN_SECTION].update(sources)
    assert config["s3"]["url"].startswith("https://s3.")
    config["s3"]["url"] = s3_url
    plain[quetz_config.CONFIG_ENV] = tomli_w.dumps(config)
    plain |= {"DB_HOST": host, "DB_PORT": str(port)}
    secrets = {quetz_config.DATABASE_PASSWORD_ENV: password, quetz_config.SESSION_SECRET_ENV: SESSION_SECRET,
               quetz_config.GITHUB_CLIENT_SECRET_ENV: CLIENT_SECRET}
    assert {s["name"] for s in container["secrets"]} == set(secrets)
    return plain | secrets


def local_sources(folder: Path, github_api: str = CLOSED_PORT) -> dict:
    settings = write_sources(folder)
    (folder / "outputs.json").write_text('{"libfoo-devel": ["libfoo"], "libfoo": ["libfoo"]}')
    return {
        "project_root": settings["project_root"], "bot_status": settings["bot_status"], "github_ids": settings["github_ids"],
        "feedstock_outputs": str(folder / "outputs.json"),  # a local file, not a URL
        # sync-users never asks it (every id is in github_ids); the refresh reads feedstocks' activity there
        "github_api": github_api,
    }


@pytest.fixture
def s3_stand_in(compiled, task_container, task_role_policy, tmp_path):
    config = tomllib.loads(next(e["value"] for e in task_container["environment"] if e["name"] == quetz_config.CONFIG_ENV))
    [ownership] = [r.inputs["rule"]["objectOwnership"] for r in compiled if r.type == aws.OWNERSHIP and r.name.startswith(f"{da.NAME}-")]
    stand_in = S3StandIn(tmp_path, config["s3"]["bucket_name"], config["s3"]["region"], task_role_policy, ownership)
    try:
        yield stand_in
    finally:
        stop_group(stand_in.proc)


def start_entrypoint(env: dict, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def base_env(tmp_path: Path, port: int) -> dict[str, str]:
    return {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
        production.DEPLOYMENT_ENV: str(tmp_path / "srv" / "deployment"), production.HOST_ENV: "127.0.0.1", production.PORT_ENV: str(port),
        # the task role's credentials, as the stand-in takes them; never the instance metadata service
        **STAND_IN_KEYS, "AWS_EC2_METADATA_DISABLED": "true",
    } | {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}  # a checkout run without its editable install


def secret_forms() -> set[str]:
    return production.secret_forms({quetz_config.DATABASE_PASSWORD_ENV: NASTY_PASSWORD, quetz_config.SESSION_SECRET_ENV: SESSION_SECRET,
                                    quetz_config.GITHUB_CLIENT_SECRET_ENV: CLIENT_SECRET, "DB_HOST": "h", "DB_PORT": "1", "DB_NAME": "n", "DB_USER": "u"})


def job_manifests(url: str) -> list[str]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(bytes(m).decode() for (m,) in conn.execute(sqlalchemy.text("SELECT manifest FROM jobs")))
    finally:
        engine.dispose()


def query(url: str, statement: str) -> list[tuple]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sqlalchemy.text(statement))]
    finally:
        engine.dispose()


def upload_through_quetz(base: str, deployment: Path, built: Path) -> tuple[str, bytes]:
    """A real package, uploaded the way clients do (an owner's API key, one file per request) into a
    channel made through Quetz's API; its store path and bytes."""
    with quetz.session_for(deployment) as db:
        quetz.create_user(db, "uploader", None)
        quetz.set_server_role(db, "uploader", "owner")
        db.commit()
        key = quetz.create_api_key(db, "uploader", "production start test")
    made = httpx.post(f"{base}/api/channels", json={"name": "conda-forge", "private": False}, headers={"X-API-Key": key}, timeout=60)
    assert made.status_code == 201, made.text[:300]
    [(subdir, package)] = demo.build_packages(built, {"s3check": [("1.0", "h0_0", ("linux-64",))]})
    demo.upload(base, key, "conda-forge", [package])
    return f"conda-forge/{subdir}/{package.name}", package.read_bytes()


def download(base: str, path: str, s3: S3StandIn) -> bytes:
    """Quetz answers a download from its S3 store with a redirect to a URL of the store's endpoint for that
    object, presigned with the task's credentials; the object there, read with those credentials. (moto's
    IAM mode cannot check a presigned URL's query signature, so the last hop signs a header instead.)"""
    answer = httpx.get(f"{base}/get/{path}", timeout=60)
    assert answer.status_code in (302, 303, 307), answer.text[:300]
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == s3.url and target.path == f"/{s3.bucket}/{path}"
    signed = parse_qs(target.query)
    assert signed["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and signed["X-Amz-Credential"][0].startswith(s3.task_keys["AWS_ACCESS_KEY_ID"] + "/")
    return s3.client.get_object(Bucket=s3.bucket, Key=path)["Body"].read()


def test_the_image_entry_point_starts_quetz_on_postgresql(pg_cluster, task_container, s3_stand_in, github_stand_in, tmp_path):
    url = new_database(pg_cluster, "quetz", "quetz", NASTY_PASSWORD)
    port = free_port()
    env = base_env(tmp_path, port) | task_environment(task_container, local_sources(tmp_path / "sources", github_stand_in), pg_cluster.host,
                                                      pg_cluster.port, "quetz", "quetz", NASTY_PASSWORD, s3_url=s3_stand_in.url)
    env |= s3_stand_in.task_keys  # Quetz's store may do only what the task role's policy allows
    assert "GITHUB_TOKEN" not in env  # the task has no token: GitHub's activity is read at the tokenless rate
    log = tmp_path / "container.log"
    base = f"http://127.0.0.1:{port}"

    def answers():
        try:
            return httpx.get(f"{base}/api/channels", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    for start in (1, 2):  # a restarted task finds everything in place and adds nothing twice
        proc = start_entrypoint(env, log)
        try:
            assert wait_until(lambda: answers() or proc.poll() is not None, timeout=90, every=0.3) and proc.poll() is None, log.read_text()[-3000:]
            # the load balancer's health check
            assert httpx.get(f"{base}{da.HEALTH_CHECK_PATH}", timeout=10).status_code == 200
            assert httpx.get(f"{base}/dashboard/", timeout=30).status_code == 200
            # GitHub sign-in configured: Quetz redirects to GitHub with the stack's client id (not followed)
            login = httpx.get(f"{base}/auth/github/login", timeout=10)
            assert login.status_code in (302, 303, 307), login.text[:300]
            assert login.headers["location"].startswith("https://github.com/login/oauth/authorize?")
            assert "client_id=Ov23liCondainfraDash" in login.headers["location"]
            assert httpx.get(f"{base}/api/dummylogin/alice", timeout=10).status_code == 404
            # migrations ran (Quetz's and the plugin's) and the periodic jobs are scheduled once each
            assert job_manifests(url) == ["condainfra_dashboard:refresh", "condainfra_dashboard:sync_users"]
            config = Path(env[production.DEPLOYMENT_ENV]) / "config.toml"
            assert config.stat().st_mode & 0o777 == 0o600
            if start == 1:
                # the supervisor's refresh read the local feedstock outputs file
                def outputs():
                    engine = sqlalchemy.create_engine(url)
                    try:
                        with engine.connect() as conn:
                            return {p for (p,) in conn.execute(sqlalchemy.text("SELECT package FROM condainfra_feedstock_outputs"))}
                    finally:
                        engine.dispose()

                assert wait_until(lambda: "libfoo-devel" in outputs(), timeout=60, every=1), log.read_text()[-3000:]
                # the sync-users job's problem reaches the container's log (the channel is made by uploads, later)
                problem = "dashboard sync-users: channel 'conda-forge' does not exist in Quetz"
                assert wait_until(lambda: problem in log.read_text(), timeout=60, every=1), log.read_text()[-3000:]
                # the rendered GitHub budget is read: the refresh read each feedstock's PRs, issues and CI
                # state from the (stand-in) API, without a token
                rendered = tomllib.loads(env[quetz_config.CONFIG_ENV])[quetz_config.PLUGIN_SECTION]["github_requests_per_run"]
                assert rendered > 0 and tomllib.loads(config.read_text())[quetz_config.PLUGIN_SECTION]["github_requests_per_run"] == rendered
                activity = "SELECT feedstock, open_prs, open_issues, ci_state FROM condainfra_github_activity WHERE checked_at IS NOT NULL"
                assert wait_until(lambda: len(query(url, activity)) == 4, timeout=60, every=1), log.read_text()[-3000:]
                assert sorted(query(url, activity)) == [("barpy", 1, 0, "pending"), ("bazlib", 0, 0, "none"), ("ghost", None, None, None),
                                                        ("libfoo", 3, 4, "failure")]  # ghost-feedstock: GitHub has no such repository
                assert FakeGitHub.seen and not any(k.lower() == "authorization" for _, headers in FakeGitHub.seen for k in headers)
                # Quetz's S3 package store: a package uploaded through Quetz lands in the bucket and downloads back
                stored, data = upload_through_quetz(base, config.parent, tmp_path / "built")
                assert s3_stand_in.objects().get(stored) == data
                # the stand-in does enforce the policy: what the task role is not given is refused
                from botocore.exceptions import ClientError

                with pytest.raises(ClientError, match="AccessDenied"):
                    s3_stand_in.client.create_bucket(Bucket="another-bucket", CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
                assert download(base, stored, s3_stand_in) == data
            else:
                # a restarted task serves what the first one stored: the bucket, not the container's disk
                assert download(base, stored, s3_stand_in) == data
                assert not (config.parent / "channels" / "conda-forge").exists()
        finally:
            stop_group(proc)
    text = log.read_text()
    leaked = [form for form in secret_forms() if form in text]
    assert leaked == [], "a secret reached the log"
    assert "Could not import postgres backend" not in text and "xattr not installed" not in text


def test_a_failed_start_is_one_line_without_the_password(pg_cluster, task_container, tmp_path):
    new_database(pg_cluster, "quetz_wrong", "quetz_wrong", "the-right-one")
    env = base_env(tmp_path, free_port()) | task_environment(task_container, local_sources(tmp_path / "sources"), pg_cluster.host, pg_cluster.port,
                                                           "quetz", "quetz", NASTY_PASSWORD)
    env |= {"DB_NAME": "quetz_wrong", "DB_USER": "quetz_wrong"}  # the password is not this role's
    result = subprocess.run(["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=120, start_new_session=True)
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert lines[-1].startswith("error: ") and "password authentication failed" in lines[-1]
    assert [form for form in secret_forms() if form in result.stdout + result.stderr] == []


@pytest.mark.parametrize("password", [
    NASTY_PASSWORD, base64.b64encode(b"\xfb\xff" * 16).decode(), "100%", "%%", "a:b@c/d?e#f=g", "%(here)s",
])
def test_any_password_reaches_postgresql_and_alembic(pg_cluster, password, tmp_path):
    """The composed config's URL logs in with the password as it was given, and survives alembic's
    ConfigParser (which reads `%` as interpolation)."""
    name = f"pw_{abs(hash(password)) % 10**8}"
    new_database(pg_cluster, name, name, password)
    env = {quetz_config.CONFIG_ENV: "[session]\nhttps_only = true\n", "DB_HOST": pg_cluster.host, "DB_PORT": str(pg_cluster.port),
           "DB_NAME": name, "DB_USER": name, quetz_config.DATABASE_PASSWORD_ENV: password,
           quetz_config.SESSION_SECRET_ENV: "s" * 32, quetz_config.GITHUB_CLIENT_SECRET_ENV: "c" * 32}
    url = tomllib.loads(production.compose_config(env))["sqlalchemy"]["database_url"]
    assert sqlalchemy.make_url(url).password == password
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT current_user")).scalar() == name
    finally:
        engine.dispose()
    from alembic.config import Config as AlembicConfig

    alembic = AlembicConfig()
    alembic.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # as quetz_adapter.migrate hands it over
    assert alembic.get_main_option("sqlalchemy.url") == url


def test_quetz_reads_every_rendered_key_and_every_secret(task_container, tmp_path):
    """Quetz merges QUETZ_<SECTION>_<KEY> variables one whole section at a time. The rule that keeps any
    key from being dropped: the composed config.toml is Quetz's only source, and the environment the
    start hands to `quetz start` has no QUETZ_ variable naming a section. Checked with Quetz's own Config."""
    env = task_environment(task_container, {}, "db.internal", 5432, "quetz", "quetz", NASTY_PASSWORD)
    deployment = tmp_path / "deployment"
    deployment.mkdir()
    (deployment / "config.toml").write_text(production.compose_config(env))
    quetz_env = production.quetz_environment(env, deployment)
    assert not {*quetz_config.SECRET_ENV, quetz_config.DATABASE_PASSWORD_ENV} & set(quetz_env)
    code = ("import json, sys; from quetz.config import Config; c = Config(sys.argv[1]); "
            "print(json.dumps({s: v for s, v in c.config.items() if isinstance(v, dict)}))")
    result = subprocess.run([sys.executable, "-c", code, str(deployment / "config.toml")], env=quetz_env | {"PATH": os.environ["PATH"]},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    rendered = tomllib.loads(env[quetz_config.CONFIG_ENV])
    for section, values in rendered.items():
        for key, value in values.items():
            assert seen[section][key] == value, f"[{section}] {key} dropped or changed"
    assert seen["github"]["client_secret"] == CLIENT_SECRET and seen["session"]["secret"] == SESSION_SECRET
    assert sqlalchemy.make_url(seen["sqlalchemy"]["database_url"]).password == NASTY_PASSWORD


def test_a_github_token_stays_for_the_jobs_and_is_masked(task_container, tmp_path):
    """A token named in the stack (`secrets.github_token`) reaches the task as GITHUB_TOKEN: the start hands
    it on to Quetz's processes, whose periodic jobs read it, and masks it in any failure it reports."""
    token = "ghp_" + "T" * 36
    env = task_environment(task_container, {}, "db.internal", 5432, "quetz", "quetz", NASTY_PASSWORD) | {quetz_config.GITHUB_TOKEN_ENV: token}
    assert production.quetz_environment(env, tmp_path)[quetz_config.GITHUB_TOKEN_ENV] == token
    assert production.masked(f"error: GitHub said no to {token}", production.secret_forms(env)) == "error: GitHub said no to [secret]"
    assert token not in production.compose_config(env)


def test_a_quetz_section_variable_is_refused(task_container):
    env = task_environment(task_container, {}, "db.internal", 5432, "quetz", "quetz", "pw") | {"QUETZ_GITHUB_CLIENT_ID": "x"}
    from condainfra.errors import CondainfraError

    with pytest.raises(CondainfraError, match=r"QUETZ_GITHUB_CLIENT_ID set: Quetz would take .* as the whole section"):
        production.compose_config(env)


def test_tasks_starting_together_migrate_and_schedule_once(pg_cluster, task_container, tmp_path):
    """Two tasks of the service (desired_count > 1, or a rolling deployment) start at the same moment
    against one database: each start's migrations and job scheduling wait for the other's."""
    new_database(pg_cluster, "quetz_pair", "quetz_pair", NASTY_PASSWORD)
    code = "import os, sys; from pathlib import Path; from condainfra.dashboard.production import prepare; prepare(Path(sys.argv[1]), os.environ)"
    procs = []
    for n in (1, 2):
        env = base_env(tmp_path / f"task{n}", free_port()) | task_environment(
            task_container, local_sources(tmp_path / f"sources{n}"), pg_cluster.host, pg_cluster.port, "quetz", "quetz", NASTY_PASSWORD)
        env |= {"DB_NAME": "quetz_pair", "DB_USER": "quetz_pair"}
        procs.append(subprocess.Popen([sys.executable, "-c", code, str(tmp_path / f"task{n}" / "deployment")], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True))
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-1500:] for o in outputs)
    url = pg_cluster.url("quetz_pair", "quetz_pair", NASTY_PASSWORD)
    assert job_manifests(url) == ["condainfra_dashboard:refresh", "condainfra_dashboard:sync_users"]
