"""Wall time of `condainfra preview` over 32 feedstock shards at --parallel 1 against --parallel 8.

    python benchmarks/engine_parallel.py [--delay 0.5] [--repeat 3] [--parallel 8]

The engine is the recording fake `pulumi` of the contract tests (tests/engine/fake_pulumi.py,
run as a program, never imported): each preview takes --delay seconds, standing in for the real
engine's time on a shard (a refresh of a few hundred GitHub resources takes minutes). Everything
else is real: the Automation API, one workspace and CLI process per stack, the rails and the
report. It prints the median wall time of each setting and their ratio; with 32 stacks at 8 at
once, the ideal ratio is 8 and the gap is condainfra's own per-stack cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAKE = REPO / "tests" / "engine" / "fake_pulumi.py"


def condainfra(root: Path, env: dict[str, str], *args: str) -> int:
    done = subprocess.run([sys.executable, "-m", "condainfra", *args, "--root", str(root)], env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 2):
        sys.exit(f"condainfra {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5, help="seconds the fake engine takes per stack")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=8)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="condainfra-bench-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
        shutil.copytree(REPO / "stacks", root / "stacks", ignore=shutil.ignore_patterns("Pulumi.*.yaml"))
        bin_dir = Path(tmp) / "bin"
        bin_dir.mkdir()
        (bin_dir / "pulumi").write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE} \"$@\"\n")
        (bin_dir / "pulumi").chmod(0o755)
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "FAKE_PULUMI_LOG": str(Path(tmp) / "calls.jsonl"),
            "PULUMI_CONFIG_PASSPHRASE": "benchmark",
        }
        env.pop("PULUMI_BACKEND_URL", None)
        from condainfra.project import Project

        shards = [s.name for s in Project.load(root).stacks() if s.kind == "feedstocks"]
        selection = [a for name in shards for a in ("--stack", name)]
        condainfra(root, env, "init", *selection)
        env["FAKE_PULUMI_DELAY"] = str(options.delay)

        figures: dict[int, float] = {}
        for parallel in (1, options.parallel):
            times = []
            for _ in range(options.repeat):
                start = time.perf_counter()
                condainfra(root, env, "preview", *selection, "--parallel", str(parallel), "--format", "json")
                times.append(time.perf_counter() - start)
            figures[parallel] = statistics.median(times)
            print(f"--parallel {parallel}: {len(shards)} shards, median {figures[parallel]:.2f} s of {options.repeat} (engine {options.delay:.2f} s per stack)")
        ratio = figures[1] / figures[options.parallel]
        print(f"speed-up at --parallel {options.parallel}: {ratio:.1f}x (ideal {min(options.parallel, len(shards))}x; {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
