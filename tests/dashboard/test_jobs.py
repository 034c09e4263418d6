"""The refresh runs as a periodic Quetz job in Quetz's own job supervisor, not in page requests."""

from __future__ import annotations

import json

from condainfra.dashboard import quetz_adapter as quetz
from condainfra.dashboard.actions import schedule_jobs

from .conftest import wait_until


def test_refresh_job_runs_in_the_supervisor(dashboard):
    status = dashboard.sources / "bot" / "version_status.v2.json"
    before = status.read_text()
    status.write_text(json.dumps({"errors": {}, "queued": {"bazlib": "2.2", "libfoo": "1.2"}}))
    try:
        schedule_jobs(dashboard.deployment)

        def queued():
            view = dashboard.get("/api/dashboard/maintainers/bob").json()
            return {p["name"]: p["bot"]["queued_version"] for p in view["packages"]}.get("bazlib") == "2.2"

        # the supervisor polls every 5 s; the job's first run starts at once
        assert wait_until(queued, timeout=60, every=1), "the periodic refresh job did not update the bot signals"
        with quetz.session_for(dashboard.deployment.path) as db:
            from quetz.jobs.models import Job  # read-only look at Quetz's job table

            manifests = {j.manifest.decode() for j in db.query(Job)}
        assert {"condainfra_dashboard:refresh", "condainfra_dashboard:sync_users"} <= manifests
    finally:
        status.write_text(before)
        from condainfra.dashboard.actions import refresh

        refresh(dashboard.deployment)
