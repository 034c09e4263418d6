"""The refresh runs as a periodic Quetz job in Quetz's own job supervisor, not in page requests.

On a Quetz of its own: what the job sees changes the attention history (items open, then resolved),
which the session dashboards' readers must not find."""

from __future__ import annotations

import json

from condainfra.dashboard import quetz_adapter as quetz
from condainfra.dashboard.actions import schedule_jobs

from .conftest import start_dashboard, wait_until


def test_refresh_job_runs_in_the_supervisor(tmp_path, database_url):
    board = start_dashboard(tmp_path, packages={"bazlib": [("2.0", "h0_0", ("linux-64",))]}, private={}, database_url=database_url)
    try:
        status = board.sources / "bot" / "version_status.v2.json"
        status.write_text(json.dumps({"errors": {}, "queued": {"bazlib": "2.2", "libfoo": "1.2"}}))
        schedule_jobs(board.deployment)

        def queued():
            view = board.get("/api/dashboard/maintainers/bob").json()
            return {p["name"]: p["bot"]["queued_version"] for p in view["packages"]}.get("bazlib") == "2.2"

        # the supervisor polls every 5 s; the job's first run starts at once
        assert wait_until(queued, timeout=60, every=1), "the periodic refresh job did not update the bot signals"
        with quetz.session_for(board.deployment.path) as db:
            from quetz.jobs.models import Job  # read-only look at Quetz's job table

            manifests = {j.manifest.decode() for j in db.query(Job)}
        assert {"condainfra_dashboard:refresh", "condainfra_dashboard:sync_users"} <= manifests
    finally:
        board.server.stop()
