"""Peak memory and time of each hostile source against `mirror sync`, `dashboard refresh` and
`import github` (issue 17): every case is the real command in a child process of its own, whose peak
resident memory (ru_maxrss) is printed with its wall time and the first line it ended with.

    python benchmarks/bombs.py [--src DIR] [--only mirror|dashboard|github] [--kill-after 120]

``--src`` picks the code under test (default: this checkout's ``src``), so that an older commit,
checked out with ``git worktree add /tmp/before COMMIT``, is measured with ``--src /tmp/before/src``.
The hostile server is ``tests/hostile_server.py`` run as a process of its own (never imported): bombs
of 2 GiB (gzip or zstd Content-Encoding, a ``repodata.json.zst`` file, and a local ``.zst`` file),
a 1 GiB plain body, a trickle of one byte every 5 s, a redirect loop, endless pages, a permanent 429.
A child still running after ``--kill-after`` seconds is killed and said so (what a trickle does to a
command with no overall deadline). Targets: every peak under 300 MB; every trickle ends within its
deadline (the trickle cases set ``KIND.deadline=20s`` where ``--limit`` exists).
Children are limited to 8 GiB of address space so that the old code cannot take the machine with it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parents[1]
BOMB = 2 << 30
HUGE = 1 << 30
TRICKLE_DEADLINE = "20s"
ADDRESS_SPACE = 8 << 30

# what the child runs: the command in-process, then its peak memory, as JSON into the file named second
CHILD = r"""
import json, os, resource, sys, time
args = json.loads(sys.argv[1])
started = time.monotonic()
code, line = None, ""
try:
    from condainfra.cli.main import main
    import io, contextlib
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    lines = [l for l in err.getvalue().splitlines() if l.startswith(("error", "warning: bot", "internal"))]
    line = lines[0] if lines else ""
except MemoryError:
    code, line = "MemoryError", "MemoryError"
except BaseException as exc:
    code, line = type(exc).__name__, str(exc)[:200]
out = open(sys.argv[2], "w")
out.write(json.dumps({"code": code, "line": line[:160], "seconds": time.monotonic() - started,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}) + "\n")
out.close()
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_child(src: Path, args: list[str], kill_after: float, work: Path) -> dict:
    result = work / "result.json"
    result.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=str(src), CONDAINFRA_DEBUG="")
    env.pop("GITHUB_TOKEN", None)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args), str(result)], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_limit_memory)
    try:
        proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        peak = _high_water_mb(proc.pid)
        proc.kill()
        proc.wait()
        return {"code": "killed", "line": f"still running after {kill_after:.0f} s: killed", "seconds": time.monotonic() - started, "peak_mb": peak}
    text = result.read_text().strip() if result.exists() else ""
    if not text:
        return {"code": proc.returncode, "line": f"died (exit {proc.returncode})", "seconds": time.monotonic() - started, "peak_mb": float("nan")}
    return json.loads(text)


def _high_water_mb(pid: int) -> float:
    """The peak resident memory of a running process (what ru_maxrss says once it has ended)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def write_zst_bomb(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = b" " * (1 << 20)
    with open(path, "wb") as out, zstandard.ZstdCompressor(level=3).stream_writer(out) as writer:
        for _ in range(size >> 20):
            writer.write(block)


def make_deployment(src: Path, folder: Path, bot_status: str) -> None:
    script = ("import sys; from pathlib import Path; from condainfra.dashboard.deployment import Deployment; "
              "d = Deployment(Path(sys.argv[1])); d.create({'bot_status': sys.argv[2], 'project_root': ''}); d.migrate()")
    subprocess.run([sys.executable, "-c", script, str(folder), bot_status], env=dict(os.environ, PYTHONPATH=str(src)), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def has_limit_option(src: Path) -> bool:
    return (src / "condainfra" / "fetch").is_dir()


def cases(src: Path, hostile: str, registry: str, work: Path, only: str | None):
    new = has_limit_option(src)

    def limit(*items: str) -> list[str]:
        return [x for item in items for x in ("--limit", item)] if new else []

    if only in (None, "mirror"):
        to = ["--to", f"oci://{registry}/mirrors", "--insecure", "--subdir", "linux-64"]
        for mode in ("gzip-bomb", "zstd-bomb", "file-bomb", "huge"):
            yield "mirror sync", mode, ["mirror", "sync", "--from", f"{hostile}/{mode}/conda-forge", *to]
        local = work / "local-channel" / "conda-forge"
        if not (local / "linux-64" / "repodata.json.zst").exists():
            write_zst_bomb(local / "linux-64" / "repodata.json.zst", BOMB)
        yield "mirror sync", "local .zst file", ["mirror", "sync", "--from", str(local), *to]
        yield "mirror sync", "trickle", ["mirror", "sync", "--from", f"{hostile}/trickle/conda-forge", *to, *limit(f"repodata.deadline={TRICKLE_DEADLINE}")]
        yield "mirror sync", "redirect loop", ["mirror", "sync", "--from", f"{hostile}/loop/conda-forge", *to]
    if only in (None, "dashboard"):
        for mode in ("gzip-bomb", "zstd-bomb", "huge", "trickle", "loop"):
            folder = work / f"dashboard-{'new' if new else 'old'}-{mode}"
            if not folder.exists():
                make_deployment(src, folder, f"{hostile}/{mode}/status")
            more = limit(f"status.deadline={TRICKLE_DEADLINE}") if mode == "trickle" else []
            yield "dashboard refresh", {"loop": "redirect loop"}.get(mode, mode), ["dashboard", "refresh", "--dir", str(folder), *more]
    if only in (None, "github"):
        root = work / "github-root"
        (root / "stacks").mkdir(parents=True, exist_ok=True)
        (root / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
        for mode in ("gzip-bomb", "zstd-bomb", "huge", "trickle", "pages", "429"):
            more = limit(f"api.deadline={TRICKLE_DEADLINE}") if mode == "trickle" else []
            name = {"pages": "endless next pages", "429": "permanent 429"}.get(mode, mode)
            yield "import github", name, ["import", "github", "--org", "acme", "--api-url", f"{hostile}/{mode}", "--root", str(root), "--no-cache", *more]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--only", choices=["mirror", "dashboard", "github"])
    parser.add_argument("--kill-after", type=float, default=120.0)
    parser.add_argument("--json", action="store_true", help="also print each result as a JSON line")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from condainfra.mirror.localparts import RegistryProcess

    with tempfile.TemporaryDirectory(prefix="bombs-") as tmp:
        work = Path(tmp)
        server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "hostile_server.py"), "--bomb-size", str(BOMB),
                                   "--huge-size", str(HUGE), "--trickle-every", "5"], stdout=subprocess.PIPE, text=True)
        registry = RegistryProcess(work / "registry").start()
        try:
            hostile = server.stdout.readline().strip()
            print(f"code under test: {args.src}")
            print(f"{'command':<18} {'case':<18} {'peak MB':>8} {'seconds':>8}  ended with")
            for command, case, argv in cases(args.src, hostile, registry.url, work, args.only):
                result = run_child(args.src, argv, args.kill_after, work)
                print(f"{command:<18} {case:<18} {result['peak_mb']:>8.0f} {result['seconds']:>8.1f}  {result['line']}", flush=True)
                if args.json:
                    print(json.dumps({"command": command, "case": case, **result}))
        finally:
            registry.stop()
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
