"""Uploads the way clients make them: one file per request to /api/channels/{c}/upload/{file}.

Stock Quetz 0.10.4 under fastapi 0.115 leaks a pooled database connection per upload (its index
update runs on the request's already-closed session) and fails every request once SQLite's pool
(5 + 10 overflow) is exhausted, after about 40-50 uploads. The plugin closes those sessions. Each
pooled SQLite connection is an open file of the server process, so the test counts them."""

from __future__ import annotations

import os

import httpx

from condainfra.dashboard import demo
from condainfra.dashboard import quetz_adapter as quetz
from condainfra.dashboard.deployment import Deployment, QuetzServer

from .conftest import CHANNEL

POOL_SIZE = 5  # SQLAlchemy's default QueuePool size, which Quetz keeps for SQLite


def database_files_open(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").endswith("quetz.sqlite")
        except OSError:
            pass
    return count


def upload_many(url: str, key: str, channel: str, folder, count: int) -> None:
    built = demo.build_packages(folder, {f"upl-{i:03d}": [("1.0", "h0_0", ("linux-64",))] for i in range(count)})
    with httpx.Client(timeout=60) as client:
        demo.upload(url, key, channel, [p for _, p in built], client)


def test_single_file_uploads_do_not_leak_connections(dashboard, tmp_path):
    upload_many(dashboard.url, dashboard.keys["uploader"], CHANNEL, tmp_path, 60)
    listed = httpx.get(f"{dashboard.url}/api/channels/{CHANNEL}/packages", params={"q": "upl-"}, timeout=30).json()
    assert len([p for p in listed if p["name"].startswith("upl-")]) == 60
    assert dashboard.database_connections() <= dashboard.pool_bound
    assert httpx.get(f"{dashboard.url}/api/dashboard/maintainers/alice", timeout=30).status_code == 200


def test_the_measure_sees_stock_quetz_leak(tmp_path):
    """Control: the same uploads to Quetz without any plugin hold more connections than the pool keeps."""
    import tomllib

    import tomli_w

    deployment = Deployment(tmp_path / "stock")
    deployment.create({})
    config = tomllib.loads(deployment.config_file.read_text())
    config["plugins"]["enabled"] = []  # Quetz exactly as released: no plugin at all
    deployment.config_file.write_text(tomli_w.dumps(config))
    deployment.migrate()
    with quetz.session_for(deployment.path) as db:
        quetz.create_channel(db, "c")
        quetz.create_user(db, "up", None)
        quetz.set_server_role(db, "up", "owner")
        db.commit()
        key = quetz.create_api_key(db, "up", "t")
    with QuetzServer(deployment, supervisor=False) as server:
        upload_many(server.url, key, "c", tmp_path / "built", 40)
        # how many it holds depends on the server's thread timing (a loaded machine reuses fewer threads);
        # more than the plugin's pool is what shows the leak
        assert database_files_open(server.proc.pid) > POOL_SIZE
