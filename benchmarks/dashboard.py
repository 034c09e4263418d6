"""Latency of the dashboard's maintainer page and JSON API at conda-forge scale, and their query counts.

    python benchmarks/dashboard.py [--requests 40] [--shared ../shared]

It seeds a local Quetz deployment (SQLite) directly through the plugin's adapter:
* the 430 real feedstocks and their real maintainers from ../shared/data/conda-forge/maintainers.json
  when present (each a package with 2 subdirs x 3 versions), with the autotick bot's real status files
  from ../shared/data/conda-forge/cf-graph;
* a synthetic maintainer, `bench-maintainer`, with 500 packages x 4 subdirs x 10 versions (20,000
  package versions) and 30 days of download metrics for each package;
then starts Quetz with the plugin on 127.0.0.1 and times the pages over HTTP (median and p95, after
a warm-up), and counts the SQL statements one maintainer view issues. Goal on a 2-core machine:
median under 300 ms and p95 under 500 ms for the 500-package maintainer, and a query count that does
not grow with the number of packages.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import event

from condainfra.dashboard import quetz_adapter as quetz
from condainfra.dashboard import service
from condainfra.dashboard.deployment import Deployment, QuetzServer
from condainfra.dashboard.refresh import refresh_all

SUBDIRS = ("linux-64", "osx-64", "osx-arm64", "win-64")
SYNTHETIC = "bench-maintainer"


def write_project(root: Path, real: dict[str, list[str]], synthetic: int) -> None:
    (root / "stacks" / "conda-forge" / "feedstocks").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
    (root / "stacks" / "conda-forge" / "org.yaml").write_text(
        "org: conda-forge\nsettings:\n  billing_email: admin@example.invalid\nowners: [ocefpaf, isuruf]\n"
        "teams:\n  r:\n    members: [mbargull, ocefpaf]\nfeedstocks:\n  shards: 32\n"
    )
    lines = [f"{name}: {json.dumps(maintainers)}" for name, maintainers in sorted(real.items())]
    lines += [f"synth-{i:04d}: [{SYNTHETIC}]" for i in range(synthetic)]
    (root / "stacks" / "conda-forge" / "feedstocks" / "all.yaml").write_text("\n".join(lines) + "\n")


def seed(db, packages: dict[str, tuple[int, int]], owner_of: dict[str, str]) -> int:
    """packages: name -> (subdirs, versions). Core inserts: this is set-up, not what is measured."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    quetz.create_channel(db, "conda-forge")
    uploader = quetz.create_user(db, "bench-uploader", None)
    users = {login: quetz.create_user(db, login, None) for login in set(owner_of.values())}
    db.commit()
    pkg_rows, member_rows, version_rows, metric_rows = [], [], [], []
    for name, (n_subdirs, n_versions) in packages.items():
        pkg_rows.append({"name": name, "channel_name": "conda-forge", "description": "", "summary": "", "platforms": ""})
        if name in owner_of:
            member_rows.append({"channel_name": "conda-forge", "package_name": name, "user_id": users[owner_of[name]], "role": "owner"})
        for s, subdir in enumerate(SUBDIRS[:n_subdirs]):
            for v in range(n_versions - (1 if s == n_subdirs - 1 and n_subdirs > 1 else 0)):  # the last subdir lags
                filename = f"{name}-1.{v}.0-h0_0.conda"
                version_rows.append({
                    "id": uuid.uuid4().bytes, "channel_name": "conda-forge", "package_name": name, "package_format": quetz.PackageFormatEnum.conda,
                    "platform": subdir, "version": f"1.{v}.0", "build_string": "h0_0", "build_number": 0, "size": 1000, "filename": filename,
                    "info": "{}", "uploader_id": uploader, "version_order": v, "download_count": 10 * v, "time_created": now - timedelta(days=5 * (n_versions - v)),
                })
                metric_rows += [{"id": uuid.uuid4().bytes, "channel_name": "conda-forge", "platform": subdir, "filename": filename, "metric_name": "download",
                                 "period": quetz.IntervalType.day, "count": 3, "timestamp": now - timedelta(days=d)} for d in range(0, 40, 8)]
    db.execute(quetz.Package.__table__.insert(), pkg_rows)
    if member_rows:
        db.execute(quetz.PackageMember.__table__.insert(), member_rows)
    db.execute(quetz.PackageVersion.__table__.insert(), version_rows)
    db.execute(quetz.PackageVersionMetric.__table__.insert(), metric_rows)
    db.commit()
    return len(version_rows)


def timed(url: str, n: int) -> tuple[float, float, int]:
    with httpx.Client(timeout=60) as client:
        size = len(client.get(url).content)  # warm-up
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))], size


def count_queries(deployment: Deployment, login: str) -> tuple[int, int]:
    with quetz.session_for(deployment.path) as db:
        statements = []
        event.listen(db.get_bind(), "before_cursor_execute", lambda *a: statements.append(a[2]))
        view = service.maintainer_view(db, quetz.anonymous_rules(db), quetz.settings(), login)
        return len(statements), len(view.packages)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    parser.add_argument("--synthetic", type=int, default=500)
    args = parser.parse_args()

    data = args.shared / "data" / "conda-forge"
    real = json.loads((data / "maintainers.json").read_text()) if (data / "maintainers.json").is_file() else {}
    print(f"real feedstocks: {len(real)} ({'from ' + str(data) if real else 'shared/ not found: synthetic only'})")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_project(root / "project", real, args.synthetic)
        settings = {"project_root": str(root / "project"), "channel": "conda-forge"}
        if (data / "cf-graph").is_dir():
            settings["bot_status"] = str(data / "cf-graph")
        deployment = Deployment(root / "quetz")
        deployment.create(settings)
        deployment.migrate()
        packages = {name: (2, 3) for name in real} | {f"synth-{i:04d}": (4, 10) for i in range(args.synthetic)}
        owners = {f"synth-{i:04d}": SYNTHETIC for i in range(args.synthetic)}
        started = time.perf_counter()
        with quetz.session_for(deployment.path) as db:
            versions = seed(db, packages, owners)
            report = refresh_all(db, quetz.settings())
        print(f"seeded {len(packages)} packages, {versions} package versions in {time.perf_counter() - started:.1f} s; {report.summary()}")

        busiest = max(((sum(login in [m.lower() for m in ms] for ms in real.values()), login) for login in {m.lower() for ms in real.values() for m in ms if "/" not in m}), default=(0, None))[1]
        for login in filter(None, (SYNTHETIC, busiest)):
            queries, shown = count_queries(deployment, login)
            print(f"{login}: {shown} packages, {queries} SQL statements per maintainer view")
        with QuetzServer(deployment, supervisor=False) as server:
            for login in filter(None, (SYNTHETIC, busiest)):
                for path in (f"/dashboard/maintainers/{login}", f"/api/dashboard/maintainers/{login}"):
                    median, p95, size = timed(server.url + path, args.requests)
                    print(f"{path}: median {median:.0f} ms, p95 {p95:.0f} ms over {args.requests} requests ({size / 1024:.0f} KiB)")
            median, p95, _ = timed(server.url + "/dashboard/", args.requests)
            print(f"/dashboard/: median {median:.0f} ms, p95 {p95:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
