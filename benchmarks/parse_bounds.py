"""Hostile config and import sources (issue 17): time and peak memory of one `condainfra` process each.

    python benchmarks/parse_bounds.py [--case NAME ...] [--timeout 240] [--src DIR]

Each case writes a fresh copy of the shipped ``Pulumi.yaml`` and ``stacks/`` plus one hostile file,
runs the command as its own process and prints its exit code, wall time, peak resident set size
(``os.wait4``) and the first line it printed on stderr. A process still running at ``--timeout`` is
killed and said so; one that asks for more than ``--memory`` fails with MemoryError (the code before
issue 17 took 10 GB and more on the 8-level case). ``--src`` runs another copy of the sources (``git archive <rev> src | tar -x -C
DIR``) to measure the code before a change.

Target: every case ends within a few seconds under 300 MB with one `file:line` message and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]


def _aliases(levels: int, indent: str = "") -> str:
    """~50 bytes a level: ``levels`` lists of nine references to the one before (9**levels values)."""
    lines = [f"{indent}x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    for i in range(1, levels + 1):
        lines.append(f"{indent}x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n")
    return "".join(lines)


def _org(root: Path) -> Path:
    return root / "stacks" / "conda-forge" / "org.yaml"


def yaml_aliases_org(root: Path, work: Path) -> list[str]:
    with _org(root).open("a", encoding="utf-8") as org:
        org.write(_aliases(8))
    return ["validate"]


def yaml_aliases_cirun(root: Path, work: Path) -> list[str]:
    cirun = work / "access.yml"
    cirun.write_text("version: 1\n" + _aliases(7) + "policies: []\naccess_control: []\n", encoding="utf-8")
    return ["import", "access", "--cirun", str(cirun)]


def yaml_self_alias(root: Path, work: Path) -> list[str]:
    with _org(root).open("a", encoding="utf-8") as org:
        org.write("loop: &loop [*loop]\n")
    return ["validate"]


def yaml_deep(root: Path, work: Path) -> list[str]:
    with _org(root).open("a", encoding="utf-8") as org:
        org.write("deep: " + "[" * 100_000 + "]" * 100_000 + "\n")
    return ["validate"]


def yaml_deep_900(root: Path, work: Path) -> list[str]:
    with _org(root).open("a", encoding="utf-8") as org:  # within libyaml's own 1,000 levels
        org.write("deep: " + "[" * 900 + "]" * 900 + "\n")
    return ["validate"]


def json_deep(root: Path, work: Path) -> list[str]:
    outputs, maintainers = work / "outputs.json", work / "maintainers.json"
    outputs.write_text(json.dumps({"numpy": ["numpy"]}), encoding="utf-8")
    maintainers.write_text('{"numpy": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    return ["import", "feedstocks", "--outputs", str(outputs), "--maintainers", str(maintainers)]


def json_huge(root: Path, work: Path) -> list[str]:
    outputs = work / "outputs.json"
    entry = '"' + "a" * 90 + '": ["numpy"], '
    with outputs.open("w", encoding="utf-8") as handle:  # ~500 MB of distinct-looking keys
        handle.write("{")
        chunk = "".join(entry.replace("a" * 6, f"{i:06d}", 1) for i in range(100_000))
        for _ in range(50):
            handle.write(chunk)
        handle.write('"numpy": ["numpy"]}')
    return ["import", "feedstocks", "--outputs", str(outputs)]


CASES: dict[str, Callable[[Path, Path], list[str]]] = {
    "yaml-aliases-8-org": yaml_aliases_org,
    "yaml-aliases-7-cirun": yaml_aliases_cirun,
    "yaml-self-alias": yaml_self_alias,
    "yaml-nested-100000": yaml_deep,
    "yaml-nested-900": yaml_deep_900,
    "json-nested-100000": json_deep,
    "json-500MB-outputs": json_huge,
}


def run(args: list[str], cwd: Path, timeout: float, src: Path | None, memory: int) -> tuple[int | None, float, float, str]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "condainfra", *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=err,
                                text=True, env=env, start_new_session=True,
                                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (memory << 20, memory << 20)))
        killed = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout and not killed:
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        err.seek(0)
        # the problem itself, not the "invalid configuration (N problem(s)):" line above it
        first = next((line.strip() for line in err if line.strip() and "problem(s)" not in line), "")
    code = None if killed else os.waitstatus_to_exitcode(status)
    return code, elapsed, usage.ru_maxrss / 1024, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="run only these (repeatable)")
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument("--memory", type=int, default=4096, help="address space cap of each process, MiB (the machine is shared)")
    parser.add_argument("--src", type=Path, help="a copy of src/ to run instead of the checkout's")
    options = parser.parse_args()
    print(f"{'case':<22} {'exit':>6} {'time':>9} {'peak RSS':>10}  first line on stderr")
    for name in options.case or CASES:
        with tempfile.TemporaryDirectory(prefix="condainfra-bounds-") as tmp:
            work = Path(tmp)
            root = work / "project"
            root.mkdir()
            shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
            shutil.copytree(REPO / "stacks", root / "stacks")
            args = CASES[name](root, work)
            code, elapsed, peak, first = run([*args, "--root", str(root)], root, options.timeout, options.src, options.memory)
            shown = "killed" if code is None else str(code)
            print(f"{name:<22} {shown:>6} {elapsed:>8.1f}s {peak:>7.0f} MB  {first.replace(tmp, '<tmp>')[:110]}", flush=True)


if __name__ == "__main__":
    main()
