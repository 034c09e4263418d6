"""Real parts for the dashboard tests: a Quetz server with the plugin, started on a free loopback
port in a deployment the test writes, with packages built by py-rattler-build at test time and
uploaded through Quetz's HTTP API with API keys, the way clients do. GitHub is the only thing
that cannot exist here; nothing in these tests talks to it."""

from __future__ import annotations

import atexit
import itertools
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from condainfra.dashboard import demo
from condainfra.dashboard.actions import refresh, sync_users
from condainfra.dashboard.deployment import Deployment, QuetzServer

CHANNEL = "conda-forge"
PRIVATE = "secret-channel"

ORG_YAML = """\
org: conda-forge
settings:
  billing_email: admin@example.invalid
owners: [owner-one, owner-two]
members: [alice, bob, carol]
teams:
  core:
    maintainers: [owner-one]
    members: [carol]
feedstocks:
  shards: 2
"""

FEEDSTOCKS_YAML = """\
libfoo: [alice, bob]
barpy: [alice, conda-forge/core]
bazlib: [bob]
ghost: [alice, conda-forge/no-such-team]
"""

# name -> [(version, build, subdirs)]; libfoo's osx-64 lags behind
PACKAGES = {
    "libfoo": [("1.0.0", "h0_0", ("linux-64", "osx-64", "win-64")), ("1.1.0", "h0_0", ("linux-64", "win-64"))],
    "barpy": [("0.5", "pyh0_0", ("noarch",))],
    "bazlib": [("2.0", "h0_0", ("linux-64",)), ("2.0", "h0_1", ("linux-64",))],  # a rebuild
}
PRIVATE_PACKAGES = {"hidden-pkg": [("9.9", "h0_0", ("linux-64",))]}

SCRIPT_ERROR = (
    '2.00 attempts - bot error (<a href="https://github.com/regro/cf-scripts/actions/runs/42">bot CI job</a>): main:\n'
    "Traceback: <script>alert('owned')</script> VersionMigrationError: could not hash URL " + "x" * 3000
)


def write_sources(folder: Path, feedstocks: str = FEEDSTOCKS_YAML) -> dict[str, object]:
    project = folder / "project"
    (project / "stacks" / "conda-forge" / "feedstocks").mkdir(parents=True, exist_ok=True)
    (project / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
    (project / "stacks" / "conda-forge" / "org.yaml").write_text(ORG_YAML)
    (project / "stacks" / "conda-forge" / "feedstocks" / "main.yaml").write_text(feedstocks)
    # another org with a feedstock of the same name: it must not reach conda-forge's channel
    (project / "stacks" / "other-org" / "feedstocks").mkdir(parents=True, exist_ok=True)
    (project / "stacks" / "other-org" / "org.yaml").write_text(
        "org: other-org\nsettings:\n  billing_email: admin@example.invalid\nowners: [stranger, owner-one]\nfeedstocks:\n  shards: 1\n"
    )
    (project / "stacks" / "other-org" / "feedstocks" / "main.yaml").write_text("libfoo: [mallory]\n")
    status = folder / "bot"
    (status / "migration_json").mkdir(parents=True, exist_ok=True)
    (status / "version_status.v2.json").write_text(json.dumps({"errors": {"libfoo": SCRIPT_ERROR}, "queued": {"bazlib": "2.1"}}))
    (status / "migration_json" / "big_migration.json").write_text(json.dumps({
        "_feedstock_status": {"barpy": {"num_descendants": 120, "immediate_children": ["x"], "pr_url": "https://github.com/conda-forge/barpy-feedstock/pull/7"}},
        "done": [], "in-pr": ["barpy"], "awaiting-pr": [], "awaiting-parents": [], "not-solvable": [], "bot-error": [],
    }))
    # a malformed migration file: logged once, skipped, never breaks a page
    (status / "migration_json" / "broken.json").write_text("{not json")
    (folder / "ids.json").write_text(json.dumps({"alice": 1001, "bob": 1002, "carol": 1003, "owner-one": 1004, "owner-two": 1005, "stranger": 1006, "mallory": 1007}))
    return {
        "project_root": str(project), "bot_status": str(status), "channel": CHANNEL,
        "drift_report": str(folder / "missing-drift.json"),  # not there yet: a problem, not a failure
        "github_ids": str(folder / "ids.json"), "error_excerpt": 400,
        "mirror_url": str(folder / "mirror" / CHANNEL),  # written once the packages are built
    }


def wait_until(check, timeout: float = 30.0, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


class Dashboard:
    def __init__(self, deployment: Deployment, server: QuetzServer, keys: dict[str, str], sources: Path):
        self.deployment, self.server, self.keys, self.sources = deployment, server, keys, sources
        self.url = server.url
        self.database = "postgresql" if deployment.database_url().startswith("postgresql") else "sqlite"
        # what a server that leaks no connection holds at most: SQLAlchemy's default pool (5) of the web
        # process for SQLite; for PostgreSQL Quetz's pool (10, with 100 overflow), and a few more of the job
        # supervisor's processes (pg_stat_activity sees every process)
        self.pool_bound = 5 if self.database == "sqlite" else 10 + 5

    def database_connections(self) -> int:
        """Database connections the server holds now: its open SQLite files, or its PostgreSQL sessions
        (the connection the count is made on is left out)."""
        if self.database == "sqlite":
            return _files_open(self.server.proc.pid, "quetz.sqlite")
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.deployment.database_url(), poolclass=sqlalchemy.pool.NullPool)
        try:
            with engine.connect() as conn:
                return conn.execute(sqlalchemy.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        finally:
            engine.dispose()

    def get(self, path: str, as_user: str | None = None, **kw) -> httpx.Response:
        headers = {"X-API-Key": self.keys[as_user]} if as_user else {}
        return httpx.get(self.url + path, headers=headers, timeout=30, **kw)


def _files_open(pid: int, suffix: str) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").endswith(suffix)
        except OSError:
            pass
    return count


_SQLITE_TEMPLATE: list[Path] = []  # this process's migrated SQLite database, made on first use
_MIGRATED_URLS: set[str] = set()  # PostgreSQL databases copied from a migrated template (database_url)


def migrated_copy(deployment: Deployment) -> None:
    """Put a migrated database into a new deployment on SQLite without migrating it again: the first
    call runs Quetz's and the plugin's migrations (``Deployment.migrate``) in a deployment of its own,
    every call copies that database file. What the migrations do is the business of the tests that run
    them (the session dashboard, `dashboard serve`); the others only need a migrated database."""
    if not _SQLITE_TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="condainfra-quetz-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template = Deployment(folder / "quetz")
        template.create({})
        template.migrate()
        _SQLITE_TEMPLATE.append(template.path / "quetz.sqlite")
    source = _SQLITE_TEMPLATE[0]
    for suffix in ("", "-wal"):  # the migration's connections are closed: the log is folded in, if it is there at all
        if source.with_name(source.name + suffix).exists():
            shutil.copyfile(source.with_name(source.name + suffix), deployment.path / f"quetz.sqlite{suffix}")


def start_dashboard(root: Path, settings_extra: dict | None = None, packages=PACKAGES, private=PRIVATE_PACKAGES,
                    database_url: str | None = None, migrate: bool = False, supervisor: bool = True) -> Dashboard:
    """A Quetz with the plugin and test data in ``root``. ``migrate``: run the migrations on its database
    (else a migrated copy: ``migrated_copy``, or a ``database_url`` fixture's database). ``supervisor``:
    Quetz's job supervisor, which only periodic jobs need."""
    from condainfra.dashboard import quetz_adapter as quetz

    sources = root / "sources"
    settings = write_sources(sources) | (settings_extra or {})
    deployment = Deployment(root / "quetz")
    deployment.create(settings, database_url)
    if migrate or (database_url is not None and database_url not in _MIGRATED_URLS):
        deployment.migrate()
    elif database_url is None:
        migrated_copy(deployment)
    keys = {}
    with quetz.session_for(deployment.path) as db:
        quetz.create_channel(db, CHANNEL)
        quetz.create_channel(db, PRIVATE, private=True)
        for login in ("uploader", "outsider", "insider"):
            quetz.create_user(db, login, None)
        quetz.set_server_role(db, "uploader", "owner")
        db.commit()
        quetz.set_channel_role(db, PRIVATE, "insider", quetz.MEMBER)
        db.commit()
        for login in ("uploader", "outsider", "insider"):
            keys[login] = quetz.create_api_key(db, login, "tests")
    server = QuetzServer(deployment, supervisor=supervisor).start()
    try:
        built = demo.build_packages(root / "built", packages)
        demo.upload(server.url, keys["uploader"], CHANNEL, [p for _, p in built])
        hidden = demo.build_packages(root / "built-private", private)
        demo.upload(server.url, keys["uploader"], PRIVATE, [p for _, p in hidden])
        with httpx.Client(timeout=30) as client:
            for newest in [p for s, p in built if s == "linux-64" and p.name.startswith("libfoo-1.1.0")]:
                demo.download(server.url, CHANNEL, "linux-64", newest.name, 3, client)
        # the mirror has everything but libfoo's newest linux-64 build and bazlib's rebuild
        lacking = {("linux-64", p.name) for s, p in built if s == "linux-64" and p.name.startswith(("libfoo-1.1.0", "bazlib-2.0-h0_1"))}
        demo.write_mirror(sources / "mirror" / CHANNEL, built, lacking)
        refresh(deployment)
        sync_users(deployment)
    except BaseException:
        server.stop()
        raise
    return Dashboard(deployment, server, keys, sources)


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL (Debian's, as the unprivileged postgres user) for the whole session;
    each user of it makes its own database."""
    from condainfra.devtools.postgres import Cluster

    cluster = Cluster().start()
    yield cluster
    cluster.stop()


def new_database(cluster, name: str, user: str, password: str) -> str:
    """A database owned by a new role; its URL, password included."""
    return cluster.create_database(name, user, password)


_databases = itertools.count(1)


@pytest.fixture(scope="session")
def pg_template(pg_cluster, tmp_path_factory) -> str:
    """A database of the session's PostgreSQL with Quetz's and the plugin's migrations run on it
    (``Deployment.migrate``), for ``database_url`` to copy; its tables belong to a role of its own."""
    url = new_database(pg_cluster, "migrated_template", "migrated_template", "tem%=@:/#?plate")
    template = Deployment(tmp_path_factory.mktemp("pg-template") / "quetz")
    template.create({}, url)
    template.migrate()
    # the database itself goes to the superuser, so that a copy's REASSIGN OWNED moves only what is inside it
    pg_cluster.psql('ALTER DATABASE migrated_template OWNER TO postgres;\n')
    return "migrated_template"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str | None:
    """For a test that makes its own deployment: None (SQLite in the deployment folder: start_dashboard
    copies a migrated database into it), then a fresh database of the session's PostgreSQL, owned by a
    role of its own, copied from the migrated ``pg_template``."""
    if request.param == "sqlite":
        return None
    template = request.getfixturevalue("pg_template")
    cluster = request.getfixturevalue("pg_cluster")
    name = f"test_{next(_databases)}"
    password = f"{name}%=@:/#?pw"
    cluster.psql('CREATE ROLE :"user" LOGIN PASSWORD :\'password\';\nCREATE DATABASE :"name" TEMPLATE :"template" OWNER :"user";\n',
                 user=name, password=password, name=name, template=template)
    cluster.psql('REASSIGN OWNED BY :"template" TO :"user";\n', database=name, template=template, user=name)
    url = cluster.url(name, name, password)
    _MIGRATED_URLS.add(url)
    return url


@pytest.fixture(scope="session")
def _session_boards():
    """The session dashboards started so far, by database; stopped (their whole process groups) when
    the session ends, however it ends."""
    boards: dict[str, Dashboard] = {}
    yield boards
    for board in boards.values():
        board.server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def dashboard(request, tmp_path_factory, _session_boards):
    """One Quetz with the plugin and test data for the read-only tests of the session, on each database
    Quetz runs on: SQLite (the local default) and PostgreSQL (production's). Each is started when a test
    first needs it and kept until the session ends: pytest sets a parametrized session fixture up again
    when the tests a worker gets interleave its parameters (pytest-xdist), and that must not cost a new
    server. These are the deployments whose migrations run here (the other tests copy migrated ones)."""
    if request.param not in _session_boards:
        url = None
        if request.param == "postgresql":
            name = f"dashboard_{next(_databases)}"
            url = new_database(request.getfixturevalue("pg_cluster"), name, name, "dash%=@:/#?board")
        _session_boards[request.param] = start_dashboard(tmp_path_factory.mktemp(f"dashboard-{request.param}"), database_url=url, migrate=True)
    return _session_boards[request.param]
