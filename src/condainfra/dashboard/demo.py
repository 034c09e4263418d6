"""Demo data for ``dashboard serve --demo``: generated here, at that moment, in the formats of
the real sources, so a newcomer sees a real page within a minute.

* a small org-as-code project (owners, a team, feedstocks whose maintainers include a team);
* real conda packages built with py-rattler-build, in several subdirs, one subdir lagging,
  uploaded through Quetz's HTTP API the way `rattler-build upload quetz` does;
* downloads made through Quetz's own download route;
* the autotick bot's status files (version errors, a queued update, a migration with
  descendants), a drift report, and a mirror that lacks the newest build of one package.

Nothing is copied from anywhere: the GitHub ids are made up and marked as such.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import httpx

from ..errors import CondainfraError
from ..output import write_atomic

CHANNEL = "conda-forge"
ADMIN = "dashboard-demo-admin"

ORG_YAML = """\
org: conda-forge
settings:
  billing_email: admin@example.invalid
owners: [ocefpaf, isuruf]
members: [beckermr, h-vetinari, jakirkham, xhochy, rgommers, mbargull]
teams:
  core:
    description: conda-forge core
    maintainers: [ocefpaf, isuruf]
    members: [beckermr, jakirkham]
feedstocks:
  shards: 4
"""

FEEDSTOCKS_YAML = """\
numpy: [h-vetinari, isuruf, jakirkham, rgommers, xhochy]
scipy: [h-vetinari, rgommers, jakirkham]
openssl: [h-vetinari, jakirkham, ocefpaf]
zlib: [isuruf, ocefpaf, mbargull]
anyio: [conda-forge/core, xhochy]
pyarrow: [xhochy, h-vetinari, conda-forge/core]
"""

# name -> [(version, build, subdirs)], oldest first; numpy's win-64 stays at the old version
PACKAGES = {
    "numpy": [("2.2.6", "py312h0_0", ("linux-64", "osx-arm64", "win-64", "linux-aarch64")), ("2.3.1", "py312h0_0", ("linux-64", "osx-arm64", "linux-aarch64"))],
    "scipy": [("1.15.3", "py312h0_0", ("linux-64", "osx-arm64"))],
    "openssl": [("3.5.0", "h0_0", ("linux-64", "osx-64")), ("3.5.1", "h0_0", ("linux-64", "osx-64"))],
    "zlib": [("1.3.1", "h0_2", ("linux-64", "osx-64", "win-64"))],
    "anyio": [("4.9.0", "pyh0_0", ("noarch",))],
    "pyarrow": [("20.0.0", "py312h0_0", ("linux-64",)), ("21.0.0", "py312h0_0", ("linux-64",))],
}
DOWNLOADS = {("numpy", "linux-64"): 40, ("scipy", "linux-64"): 12, ("zlib", "osx-64"): 7, ("anyio", "noarch"): 5}

BOT_ERROR = (
    '3.00 attempts - bot error (<a href="https://github.com/regro/cf-scripts/actions/runs/1000000001">bot CI job</a>): main:\n'
    "Traceback (most recent call last):\n"
    '  File "/opt/autotick-bot/conda_forge_tick/auto_tick.py", line 640, in _run_bot_task\n'
    "conda_forge_tick.migrators.version.VersionMigrationError: The recipe did not change in the version migration, "
    "a URL did not hash, or there is jinja2 syntax the bot cannot handle!\n\n"
    "Please check the URLs in your recipe with version '1.16.0' to make sure they exist!\n\n"
    " - could not hash URL template 'https://github.com/scipy/scipy/releases/download/v{{ version }}/scipy-{{ version }}.tar.gz'"
)


def write_sources(folder: Path) -> dict[str, str]:
    """The outside sources, in their real formats; returns the plugin settings that point at them."""
    project = folder / "project"
    (project / "stacks" / "conda-forge" / "feedstocks").mkdir(parents=True, exist_ok=True)
    write_atomic(project / "Pulumi.yaml", "name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
    write_atomic(project / "stacks" / "conda-forge" / "org.yaml", ORG_YAML)
    write_atomic(project / "stacks" / "conda-forge" / "feedstocks" / "demo.yaml", FEEDSTOCKS_YAML)

    status = folder / "bot-status"
    (status / "migration_json").mkdir(parents=True, exist_ok=True)
    write_atomic(status / "version_status.v2.json", json.dumps({"errors": {"scipy": BOT_ERROR}, "queued": {"zlib": "1.3.2"}}, indent=2))
    migration = {
        "_feedstock_status": {
            "numpy": {"immediate_children": ["scipy", "pyarrow"], "num_descendants": 214, "pr_url": "https://github.com/conda-forge/numpy-feedstock/pull/999",
                      "pr_status": "unstable", "pre_pr_migrator_status": "", "created_at": "2026-11-20T10:00:00Z"},
            "openssl": {"immediate_children": [], "num_descendants": 3, "pre_pr_migrator_status":
                        "not solvable (<a href='https://github.com/regro/cf-scripts/actions/runs/1000000002'>bot CI job</a>) @ main\n"
                        "<details><pre>nothing provides libzlib >=1.3.2 needed by openssl-3.5.1-h0_0</pre></details>"},
            "pyarrow": {"immediate_children": [], "num_descendants": 0},
            "anyio": {"immediate_children": [], "num_descendants": 0},
        },
        "awaiting-parents": ["pyarrow"], "awaiting-pr": [], "bot-error": [], "done": ["anyio"], "in-pr": ["numpy"], "not-solvable": ["openssl"],
    }
    write_atomic(status / "migration_json" / "python313_demo.json", json.dumps(migration, indent=2))
    write_atomic(status / "current_status.json", json.dumps({"python313_demo": "Python 3.13 (demo)"}))

    # pyarrow's shard drifted: someone changed its team by hand
    from ..compiler.sharding import shard_of, shard_stack_name

    stack = shard_stack_name("conda-forge", shard_of("pyarrow", 4))
    drift = {"summary": "1 stack with drift", "stacks": [{"stack": stack, "create": [], "delete": [],
             "update": [{"action": "update", "urn": f"urn:pulumi:{stack}::condainfra::github:index/team:Team::pyarrow", "type": "github:index/team:Team", "name": "pyarrow",
                         "changes": [{"key": "description", "old": "pyarrow feedstock", "new": "edited by hand"}]}]}]}
    write_atomic(folder / "drift.json", json.dumps(drift, indent=2))

    ids = {login: 900_000 + i for i, login in enumerate(sorted({"ocefpaf", "isuruf", "beckermr", "jakirkham", "h-vetinari", "rgommers", "xhochy", "mbargull"}))}
    write_atomic(folder / "github-ids.json", json.dumps({"_comment": "made-up ids for the demo", **ids}, indent=1))
    return {
        "project_root": str(project),
        "bot_status": str(status),
        "drift_report": str(folder / "drift.json"),
        "mirror_url": str(folder / "mirror" / CHANNEL),
        "github_ids": str(folder / "github-ids.json"),
        "channel": CHANNEL,
    }


def build_number_of(build: str) -> int:
    """conda-forge's convention: the build string ends in `_<build number>`."""
    tail = build.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def build_packages(out: Path, packages: dict = PACKAGES) -> list[tuple[str, Path]]:
    """Real .conda packages, built now with py-rattler-build: [(subdir, file)]."""
    from rattler_build import ArchiveType, assemble_package

    built = []
    with tempfile.TemporaryDirectory() as tmp:
        files = Path(tmp)
        (files / "share").mkdir()
        for name, releases in packages.items():
            for version, build, subdirs in releases:
                for subdir in subdirs:
                    (files / "share" / f"{name}.txt").write_text(f"{name} {version} {subdir}\n")
                    target = out / subdir
                    target.mkdir(parents=True, exist_ok=True)
                    assemble_package(
                        name=name, version=version, target_platform=subdir, build_string=build,
                        output_dir=str(target), files_dir=str(files), noarch="python" if subdir == "noarch" else None,
                        build_number=build_number_of(build),
                        archive_type=ArchiveType.Conda, timestamp=datetime.now(timezone.utc), compression_level=1,
                    )
                    built.append((subdir, target / f"{name}-{version}-{build}.conda"))
    return built


def upload(base_url: str, api_key: str, channel: str, files: list[Path], client: httpx.Client | None = None) -> None:
    """One file per request to ``/api/channels/{channel}/upload/{file}``, as quetz clients do."""
    own = client is None
    client = client or httpx.Client(timeout=60)
    try:
        for path in files:
            data = path.read_bytes()
            response = client.post(
                f"{base_url}/api/channels/{channel}/upload/{path.name}",
                content=data,
                params={"sha256": hashlib.sha256(data).hexdigest(), "force": "false"},
                headers={"X-API-Key": api_key},
            )
            if response.status_code not in (200, 201):
                raise CondainfraError(f"upload of {path.name} to {channel}: HTTP {response.status_code}: {response.text[:200]}")
    finally:
        if own:
            client.close()


def download(base_url: str, channel: str, subdir: str, filename: str, times: int, client: httpx.Client) -> None:
    for _ in range(times):
        client.get(f"{base_url}/get/{channel}/{subdir}/{filename}").raise_for_status()


def write_mirror(folder: Path, built: list[tuple[str, Path]], lacking: set[tuple[str, str]]) -> None:
    """A mirror channel folder (repodata only) that holds every build but the (subdir, file)s in ``lacking``."""
    by_subdir: dict[str, dict] = {}
    for subdir, path in built:
        repodata = by_subdir.setdefault(subdir, {"info": {"subdir": subdir}, "packages": {}, "packages.conda": {}, "repodata_version": 1})
        if (subdir, path.name) in lacking:
            continue
        name, version, build = path.name[: -len(".conda")].rsplit("-", 2)
        data = path.read_bytes()
        repodata["packages.conda"][path.name] = {
            "name": name, "version": version, "build": build, "build_number": build_number_of(build), "depends": [],
            "subdir": subdir, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
        }
    for subdir, repodata in by_subdir.items():
        (folder / subdir).mkdir(parents=True, exist_ok=True)
        write_atomic(folder / subdir / "repodata.json", json.dumps(repodata, indent=1))
