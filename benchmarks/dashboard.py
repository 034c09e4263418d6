"""The dashboard at conda-forge size, on SQLite and on PostgreSQL, each figure printed against stock
Quetz's own listing of the same 500 packages, timed in the same interleaved rounds.

    python benchmarks/dashboard.py [--db sqlite,postgres] [--rounds 30] [--explain] [--shared ../shared]

Per database it seeds a Quetz deployment through core inserts (COPY on PostgreSQL):
* 31,406 feedstocks: the 28,906 of ../shared/data/conda-forge/feedstocks.txt, with their real maintainers
  where maintainers.json has them and 1-3 of the other real and 8,000 synthetic maintainers otherwise, and
  2,500 of two benchmark maintainers (`bench-500`, `bench-2000`, whose packages are named `bm500-*`
  and `bm2k-*` so that stock Quetz's `?q=` lists exactly the same packages);
* 20,000 packages (17,500 real names and those 2,500): four subdirs x 13 versions, or noarch x 30
  for every fifth, about 950,000 package versions;
* a year of daily download metrics of each package's newest file (7.3 million rows);
* a bot status of conda-forge's size, written in cf-graph's shapes: 400 failed version updates, 200
  queued, 40 migrations of 1,500 feedstocks each.
Then it runs a full refresh, starts Quetz with the plugin on 127.0.0.1 and times the pages.

Goals (issue 18): the 500-package maintainer page no slower than the stock listing; the first page of
the 2,000-package maintainer no more than that; the overview at most half of it; a full refresh under
90 s, and pages answer while one runs.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import event, text

from condainfra.dashboard import quetz_adapter as quetz
from condainfra.dashboard.deployment import Deployment, QuetzServer
from condainfra.dashboard.listing import maintainer_view
from condainfra.dashboard.refresh import refresh_all

SUBDIRS = ("linux-64", "osx-64", "osx-arm64", "win-64")
BENCH = {"bench-500": ("bm500", 500), "bench-2000": ("bm2k", 2000)}
PACKAGES = 20_000
SYNTHETIC_PEOPLE = 8_000
VERSION_COLUMNS = ("id", "channel_name", "package_name", "package_format", "platform", "version", "build_string", "build_number", "size",
                   "version_order", "download_count", "filename", "info", "uploader_id", "time_created", "time_modified")
METRIC_COLUMNS = ("id", "channel_name", "platform", "filename", "metric_name", "period", "count", "timestamp")


def load_shared(shared: Path) -> tuple[list[str], dict[str, list[str]]]:
    data = shared / "data" / "conda-forge"
    if not (data / "feedstocks.txt").is_file():
        sys.exit(f"{data}/feedstocks.txt not found: pass --shared (the reference data is not in the repository)")
    names = [n.strip() for n in (data / "feedstocks.txt").read_text().splitlines() if n.strip()]
    real = json.loads((data / "maintainers.json").read_text()) if (data / "maintainers.json").is_file() else {}
    return names, real


def plan(names: list[str], real: dict[str, list[str]]) -> tuple[dict[str, list[str]], list[str]]:
    """feedstock -> maintainers (or a team reference), and the packages (feedstocks whose package is uploaded)."""
    rng = random.Random(18)
    pool = sorted({m for ms in real.values() for m in ms if "/" not in m}) + [f"cf-user-{i:04d}" for i in range(SYNTHETIC_PEOPLE)]
    feedstocks: dict[str, list[str]] = {}
    for name in names:
        if name in real:
            feedstocks[name] = real[name]
        elif name.startswith("r-") and rng.random() < 0.5:
            feedstocks[name] = ["conda-forge/r"]
        else:
            feedstocks[name] = rng.sample(pool, rng.randint(1, 3))
    bench = []
    for login, (prefix, count) in BENCH.items():
        for i in range(count):
            feedstocks[f"{prefix}-{i:04d}"] = [login]
            bench.append(f"{prefix}-{i:04d}")
    real_packages = [n for n in names if n in real] + [n for n in names if n not in real]
    return feedstocks, bench + real_packages[: PACKAGES - len(bench)]


def write_project(root: Path, feedstocks: dict[str, list[str]]) -> None:
    (root / "stacks" / "conda-forge" / "feedstocks").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
    (root / "stacks" / "conda-forge" / "org.yaml").write_text(
        "org: conda-forge\nsettings:\n  billing_email: admin@example.invalid\nowners: [ocefpaf, isuruf]\n"
        "teams:\n  r:\n    maintainers: [cf-user-0001]\n    members: [cf-user-0002, cf-user-0003, mbargull]\nfeedstocks:\n  shards: 32\n"
    )
    lines = [f"{name}: {json.dumps(people)}" for name, people in sorted(feedstocks.items())]
    (root / "stacks" / "conda-forge" / "feedstocks" / "all.yaml").write_text("\n".join(lines) + "\n")


def write_bot_status(folder: Path, feedstocks: list[str], real_status: Path | None) -> None:
    """A status folder of conda-forge's size in cf-graph's shapes (status/ as the bot writes it)."""
    rng = random.Random(17)
    (folder / "migration_json").mkdir(parents=True)
    template = '{n}.00 attempts - bot error (<a href="https://github.com/regro/cf-scripts/actions/runs/{run}">bot CI job</a>): main:\n' \
               "Traceback (most recent call last):\n  ...\nVersionMigrationError: Please check the URLs in your recipe with version '{v}'"
    errors = {f: template.format(n=rng.randint(1, 800), run=16400000000 + i, v=f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.0")
              for i, f in enumerate(rng.sample(feedstocks, 400))}
    queued = {f: f"{rng.randint(2, 9)}.{rng.randint(0, 30)}.1" for f in rng.sample(feedstocks, 200)}
    (folder / "version_status.v2.json").write_text(json.dumps({"errors": errors, "queued": queued}, indent=2))
    index = {}
    for m in range(40):
        name = f"migration_{m:02d}"
        index[name] = f"Migration {m}"
        members = rng.sample(feedstocks, 1500)
        states = {s: [] for s in ("done", "in-pr", "awaiting-pr", "awaiting-parents", "not-solvable", "bot-error")}
        status = {}
        for f in members:
            state = rng.choices(list(states), weights=(60, 10, 8, 18, 2, 2))[0]
            states[state].append(f)
            status[f] = {"num_descendants": rng.choice((0, 0, 0, 1, 3, 12, 150)), "immediate_children": [], "pre_pr_migrator_status": "",
                         "pr_url": f"https://github.com/conda-forge/{f}-feedstock/pull/{rng.randint(1, 500)}", "pr_status": "clean"}
        (folder / "migration_json" / f"{name}.json").write_text(json.dumps({"_feedstock_status": status, **states}, indent=2))
    (folder / "current_status.json").write_text(json.dumps(index))


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def version_rows(packages: list[str], uploader: bytes, now: datetime):
    """(version row, newest file per package for metrics) in insertion order; yields tuples."""
    for p, name in enumerate(packages):
        subdirs, versions = (("noarch",), 30) if p % 5 == 4 else (SUBDIRS, 13)
        for s, subdir in enumerate(subdirs):
            top = versions - (1 if subdir == "win-64" and p % 3 == 0 else 0)  # a third lag on win-64
            for v in range(top):
                filename = f"{name}-1.{v}.0-h0_0.conda"
                created = now - timedelta(days=7 * (versions - v) + p % 200)
                yield (uuid.uuid4().bytes, "conda-forge", name, "conda", subdir, f"1.{v}.0", "h0_0", 0, 1000, v, 10 * v + p % 17, filename, "{}",
                       uploader, _ts(created), _ts(created))


def metric_rows(packages: list[str], now: datetime, days: int):
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for p, name in enumerate(packages):
        subdir, top = ("noarch", 29) if p % 5 == 4 else ("linux-64", 12)
        filename = f"{name}-1.{top}.0-h0_0.conda"
        for d in range(days):
            yield (uuid.uuid4().bytes, "conda-forge", subdir, filename, "download", "day", 1 + (p + d) % 7, _ts(today - timedelta(days=d)))


def bulk(db, table: str, columns: tuple[str, ...], rows, postgres: bool, chunk: int = 200_000) -> int:
    raw = db.connection().connection.dbapi_connection
    cursor = raw.cursor()
    count = 0
    while True:
        batch = [r for _, r in zip(range(chunk), rows)]
        if not batch:
            break
        count += len(batch)
        if postgres:
            buffer = io.StringIO()
            for row in batch:
                buffer.write("\t".join("\\\\x" + v.hex() if isinstance(v, bytes) else str(v) for v in row) + "\n")
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
        else:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", batch)
    return count


def seed(db, packages: list[str], postgres: bool, metric_days: int) -> tuple[int, int]:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    quetz.create_channel(db, "conda-forge")
    uploader = quetz.create_user(db, "bench-uploader", None)
    quetz.set_server_role(db, "bench-uploader", "owner")  # the uploading admin: never listed as a maintainer
    owners = {login: quetz.create_user(db, login, None) for login in BENCH}
    db.commit()
    db.execute(quetz.Package.__table__.insert(), [{"name": n, "channel_name": "conda-forge", "description": "", "summary": "", "platforms": ""} for n in packages])
    db.execute(quetz.PackageMember.__table__.insert(), [{"channel_name": "conda-forge", "package_name": n, "user_id": owners[login], "role": "owner"}
                                                         for login, (prefix, _) in BENCH.items() for n in packages if n.startswith(prefix + "-")])
    db.commit()
    if not postgres:  # set-up only: no journal while seeding (a 7-million-row transaction in the WAL is slow)
        db.connection().exec_driver_sql("PRAGMA journal_mode=OFF")
        db.connection().exec_driver_sql("PRAGMA synchronous=OFF")
    versions = bulk(db, "package_versions", VERSION_COLUMNS, version_rows(packages, uploader, now), postgres)
    db.commit()
    metrics = bulk(db, "aggregated_metrics", METRIC_COLUMNS, metric_rows(packages, now, metric_days), postgres)
    db.commit()
    db.execute(text("ANALYZE"))
    db.commit()
    if not postgres:
        db.connection().exec_driver_sql("PRAGMA journal_mode=WAL")
    return versions, metrics


def start_postgres():
    """The devtools cluster when it is there, Debian's initdb/pg_ctl otherwise (the same thing)."""
    from condainfra.devtools.postgres import Cluster

    cluster = Cluster().start()
    return cluster, cluster.create_database("bench", "quetz", "bench-Password=1")


def use_database(deployment: Deployment, url: str) -> None:
    config = deployment.config_file.read_text()
    deployment.config_file.write_text(re.sub(r'(?m)^database_url = .*$', lambda _: f"database_url = {json.dumps(url)}", config, count=1))


def statements_of(deployment: Deployment, login: str, explain: bool) -> list[str]:
    """The SQL statements one maintainer view issues; with ``explain``, each with its EXPLAIN ANALYZE time."""
    with quetz.session_for(deployment.path) as db:
        seen: list[tuple[str, object]] = []
        listener = lambda conn, cursor, statement, params, context, many: seen.append((statement, params))  # noqa: E731
        event.listen(db.get_bind(), "before_cursor_execute", listener)
        maintainer_view(db, quetz.anonymous_rules(db), quetz.settings(), login)
        event.remove(db.get_bind(), "before_cursor_execute", listener)
        lines = []
        for statement, params in seen:
            first = " ".join(statement.split())[:110]
            if explain:
                raw = db.connection().connection.dbapi_connection.cursor()
                raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plan = [r[0] for r in raw.fetchall()]
                took = next((p for p in plan if p.startswith("Execution Time")), "")
                lines.append(f"  {took:>28}  {plan[0].strip()[:70]}  <- {first}")
            else:
                lines.append(f"  {first}")
        return lines


def timed_steps(db) -> list[str]:
    from condainfra.dashboard import refresh

    settings, report = quetz.settings(), refresh_all.__globals__["RefreshReport"]
    try:
        report = report(policy=refresh.refresh_policy(settings.limits))
    except (AttributeError, TypeError):
        report = report()
    out = []
    for step in (refresh.refresh_config, refresh.refresh_bot, refresh.refresh_snapshot):
        started = time.perf_counter()
        step(db, settings, report)
        db.commit()
        out.append(f"{step.__name__.removeprefix('refresh_')} {time.perf_counter() - started:.1f} s")
    return out


def interleaved(base: str, targets: dict[str, str], rounds: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in targets}
    with httpx.Client(timeout=120) as client:
        for path in targets.values():
            client.get(base + path).raise_for_status()  # warm-up
        for _ in range(rounds):
            for name, path in targets.items():
                start = time.perf_counter()
                response = client.get(base + path)
                samples[name].append((time.perf_counter() - start) * 1000)
                response.raise_for_status()
    return samples


def stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def refresh_in_child(deployment: Deployment) -> subprocess.Popen:
    code = ("import sys, time; from pathlib import Path; from condainfra.dashboard import quetz_adapter as q; from condainfra.dashboard.refresh import refresh_all\n"
            "with q.session_for(Path(sys.argv[1])) as db:\n    t = time.perf_counter(); r = refresh_all(db, q.settings()); print(f'{time.perf_counter() - t:.1f}', r.summary())")
    return subprocess.Popen([sys.executable, "-c", code, str(deployment.path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def run(kind: str, args, names, real) -> None:
    print(f"\n=== {kind} ===")
    feedstocks, packages = plan(names, real)
    cluster = None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_project(root / "project", feedstocks)
        write_bot_status(root / "status", sorted(feedstocks), None)
        deployment = Deployment(root / "quetz")
        deployment.create({"project_root": str(root / "project"), "channel": "conda-forge", "bot_status": str(root / "status")})
        try:
            if kind == "postgres":
                cluster, url = start_postgres()
                use_database(deployment, url)
            deployment.migrate()
            started = time.perf_counter()
            with quetz.session_for(deployment.path) as db:
                versions, metrics = seed(db, packages, kind == "postgres", args.metric_days)
            print(f"seeded {len(feedstocks)} feedstocks, {len(packages)} packages, {versions} package versions, {metrics} daily download rows "
                  f"in {time.perf_counter() - started:.0f} s")
            with quetz.session_for(deployment.path) as db:
                started = time.perf_counter()
                report = refresh_all(db, quetz.settings())
                first = time.perf_counter() - started
            print(f"full refresh (first, from empty): {first:.1f} s; {report.summary()}")
            with quetz.session_for(deployment.path) as db:
                print("steady-state refresh, per step: " + ", ".join(timed_steps(db)))
            for login in BENCH:
                lines = statements_of(deployment, login, args.explain and kind == "postgres")
                print(f"{login}: {len(lines)} SQL statements per maintainer page")
                if args.explain and kind == "postgres":
                    print("\n".join(lines))
            targets = {
                "stock Quetz listing of the 500": "/api/channels/conda-forge/packages?q=bm500-",
                "maintainer page, 500 packages": "/dashboard/maintainers/bench-500",
                "maintainer page, 500, by downloads, page 2": "/dashboard/maintainers/bench-500?sort=downloads&page=2",
                "maintainer page, 2,000 packages (page 1)": "/dashboard/maintainers/bench-2000",
                "JSON API, 500 packages": "/api/dashboard/maintainers/bench-500",
                "overview": "/dashboard/",
                "team page conda-forge/r": "/dashboard/teams/conda-forge/r",
                "package page": "/dashboard/packages/conda-forge/bm500-0001",
            }
            with QuetzServer(deployment, supervisor=False) as server:
                samples = interleaved(server.url, targets, args.rounds)
                anchor = statistics.median(samples["stock Quetz listing of the 500"])
                for name, values in samples.items():
                    median, p95 = stats(values)
                    print(f"{name:<46} median {median:6.0f} ms  p95 {p95:6.0f} ms  = {median / anchor:4.2f}x stock")
                child = refresh_in_child(deployment)  # a steady-state refresh in another process, as the job supervisor runs it
                during = []
                with httpx.Client(timeout=120) as client:
                    while child.poll() is None:
                        start = time.perf_counter()
                        client.get(server.url + targets["maintainer page, 500 packages"]).raise_for_status()
                        during.append((time.perf_counter() - start) * 1000)
                took, _, summary = child.stdout.read().partition(" ")
                median, p95 = stats(during or [0.0])
                print(f"steady-state refresh in {took} s ({summary.strip()}); meanwhile the 500-package page answered {len(during)} times: "
                      f"median {median:.0f} ms, p95 {p95:.0f} ms, slowest {max(during or [0]):.0f} ms")
        finally:
            if cluster is not None:
                cluster.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--metric-days", type=int, default=365)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each statement of a maintainer page (PostgreSQL)")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    args = parser.parse_args()
    names, real = load_shared(args.shared)
    for kind in args.db.split(","):
        run(kind.strip(), args, names, real)
    return 0


if __name__ == "__main__":
    sys.exit(main())
