"""Plan a synthetic org of N feedstocks, the way CI plans a pull request, and print the figures.

    python benchmarks/plan_scale.py --feedstocks 30000 [--repeat 3] [--mock-shard]

It writes an org of N feedstocks (1-3 maintainers each, one in 20 with an
`org/team` reference) into a temporary git repository, commits it, changes the
maintainers of 1% of the feedstocks in the working tree, and times
`condainfra plan --all --against HEAD` in a fresh process: config loading and
validation, compiling both sides, diffing and the safety rails. Peak memory is
that process's maximum resident set size. Target: 30,000 feedstocks in under
10 s and under 1 GiB on a 2-core machine.

With --mock-shard it also renders one feedstock shard through the real Pulumi
program under Pulumi's mock runtime, for comparison with the compiler.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARDS = 32
TEAMS = ["core", "r", "cuda", "help-python"]


def write_org(root: Path, feedstocks: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    (root / "stacks" / "bench" / "feedstocks").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: condainfra\nruntime: python\nstackConfigDir: stacks\n")
    teams = "".join(f"  {t}:\n    members: [owner1]\n" for t in TEAMS)
    (root / "stacks" / "bench" / "org.yaml").write_text(
        "org: bench\nsettings:\n  billing_email: bench@example.org\n"
        "owners: [owner1, owner2]\nmembers: [member1]\n"
        f"teams:\n{teams}feedstocks:\n  shards: {SHARDS}\n"
    )
    names = [f"pkg-{i:06d}" for i in range(feedstocks)]
    files: dict[str, list[str]] = {}
    for name in names:
        maintainers = [f"user{rng.randrange(20000)}" for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.05:
            maintainers.append(f"bench/{rng.choice(TEAMS)}")
        files.setdefault(name[-2:], []).append(f"{name}: [{', '.join(dict.fromkeys(maintainers))}]")
    for key, lines in files.items():
        (root / "stacks" / "bench" / "feedstocks" / f"{key}.yaml").write_text("\n".join(lines) + "\n")
    return names


def change_one_percent(root: Path, seed: int = 2) -> int:
    rng = random.Random(seed)
    changed = 0
    for path in sorted((root / "stacks" / "bench" / "feedstocks").glob("*.yaml")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if rng.random() < 0.01:
                lines[i] = line.replace(": [", ": [newcomer, ", 1)
                changed += 1
        path.write_text("\n".join(lines) + "\n")
    return changed


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.email=b@example.invalid", "-c", "user.name=bench", *args], check=True, capture_output=True)


def timed_plan(root: Path) -> tuple[float, float, dict]:
    out = root / "plan.json"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "condainfra", "plan", "--all", "--against", "HEAD", "--format", "json", "--out", str(out)],
        cwd=root,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 2:
        raise SystemExit(f"plan exited {proc.returncode}: {proc.stderr}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kib / 1024, json.loads(out.read_text())["counts"]


MOCK_SCRIPT = """
import json, resource, sys, time
from pathlib import Path
from condainfra.project import Project
from condainfra.engine.mockrun import render_with_mocks
project = Project.load(Path(sys.argv[1]))
spec = project.stack(sys.argv[2])
compiled = project.compile(spec)
start = time.perf_counter()
recorded = render_with_mocks(project.name, spec.name, compiled)
elapsed = time.perf_counter() - start
print(json.dumps({"resources": len(recorded), "seconds": elapsed, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feedstocks", type=int, default=30000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mock-shard", action="store_true", help="also time one shard under Pulumi's mock runtime")
    args = parser.parse_args()
    if args.feedstocks < 1 or args.repeat < 1:
        parser.error("--feedstocks and --repeat must be at least 1")

    with tempfile.TemporaryDirectory(prefix="condainfra-bench-") as tmp:
        root = Path(tmp)
        write_org(root, args.feedstocks)
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "baseline")
        changed = change_one_percent(root)

        times, peaks = [], []
        counts = {}
        for _ in range(args.repeat):
            elapsed, peak, counts = timed_plan(root)
            times.append(elapsed)
            peaks.append(peak)
        print(f"feedstocks: {args.feedstocks} over {SHARDS} shards; {changed} changed in the working tree")
        print(f"plan --all --against HEAD: median {statistics.median(times):.2f} s over {args.repeat} runs (min {min(times):.2f}, max {max(times):.2f})")
        print(f"peak memory (max RSS of the plan process): {max(peaks):.0f} MiB")
        print(f"plan counts: {counts}")
        print(f"target: < 10 s and < 1024 MiB: {'met' if statistics.median(times) < 10 and max(peaks) < 1024 else 'NOT met'}")

        if args.mock_shard:
            env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
            compile_proc = subprocess.run(
                [sys.executable, "-c", "import sys,time,json;from pathlib import Path;from condainfra.project import Project;"
                 "p=Project.load(Path(sys.argv[1]));s=p.stack(sys.argv[2]);t=time.perf_counter();r=p.compile(s);"
                 "print(json.dumps({'resources':len(r),'seconds':time.perf_counter()-t}))", str(root), "bench-feedstocks-00"],
                capture_output=True, text=True, check=True, env=env,
            )
            compiled = json.loads(compile_proc.stdout)
            proc = subprocess.run([sys.executable, "-c", MOCK_SCRIPT, str(root), "bench-feedstocks-00"], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                raise SystemExit(f"mock render failed: {proc.stderr[-2000:]}")
            mock = json.loads(proc.stdout.strip().splitlines()[-1])
            print(
                f"one shard (bench-feedstocks-00, {mock['resources']} resources): compile {compiled['seconds'] * 1000:.0f} ms; "
                f"Pulumi mock-runtime render {mock['seconds']:.1f} s ({mock['seconds'] / mock['resources'] * 1000:.2f} ms per resource, "
                f"peak {mock['peak_mib']:.0f} MiB); ratio {mock['seconds'] / max(compiled['seconds'], 1e-9):.0f}x"
            )


if __name__ == "__main__":
    main()
