"""conda-forge at full scale, from its real feedstock list: import, validate, plan from scratch, re-plan after one change.

    python benchmarks/real_data.py [--data ../shared/data/conda-forge] [--repeat 3] [--generated] [--profile]

The data: ``feedstocks.txt`` (all 28,906 feedstock names) and ``maintainers.json`` (the recipes'
``extra.recipe-maintainers`` where known) from ``--data``. Without them (or with ``--generated``) it
generates names of the same count and shape (length, separators, digits) and maintainers for the same
share of them, so the figures mean the same on a machine without the shared data.

Each step runs as its own `condainfra` process on a fresh copy of the shipped ``Pulumi.yaml`` and
``stacks/``, as a user or CI would run it; the step's time is its wall clock and its memory its own
peak resident set size (``os.wait4``). Each figure is the median of ``--repeat`` runs.

1. ``import feedstocks --outputs NAMES --maintainers FILE`` (the names as a merged outputs file)
2. ``validate``
3. ``plan --all --from-scratch`` (Markdown, what CI posts; and JSON, the full machine report)
4. ``plan --all --against HEAD`` after one feedstock's maintainers changed (the config committed first)

Target: import + validate + plan (Markdown) of the whole list under 5 s together and under 512 MiB
peak. It also times that chain in one process through the library, which is the work without three
interpreter starts and without the import's own check of the config that `validate` repeats. ``--profile`` also prints where the plan's time and memory go (cProfile, tracemalloc), in process.

Of the four names that collide with declared teams or each other in the real data (``r``, ``cuda``,
``staged-recipes``, and ``pdfminer.six`` beside ``pdfminer-six``), those the config still rejects are
dropped, and the output says which: ``pdfminer.six`` is a real conflict that the config resolves with
``team:``, which the generated feedstock files do not write.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "conda-forge"
ORG = "conda-forge"
COLLIDING = ("r", "cuda", "staged-recipes", "pdfminer.six")
# the real list: 28,906 names, maintainers known for 430 (1.5%), 1-9 each, 69 of them `org/team`
GENERATED_COUNT = 28_906
MAINTAINED_SHARE = 430 / 28_906


def real_data(folder: Path) -> tuple[list[str], dict[str, list[str]]] | None:
    names_file, maintainers_file = folder / "feedstocks.txt", folder / "maintainers.json"
    if not (names_file.is_file() and maintainers_file.is_file()):
        return None
    names = [line.strip() for line in names_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    return names, json.loads(maintainers_file.read_text(encoding="utf-8"))


def generated_data(seed: int = 7) -> tuple[list[str], dict[str, list[str]]]:
    """Names shaped like conda package names: 1-4 lowercase words joined by `-` (a few by `_` or `.`),
    some with digits; maintainers for the real share of them, a few as `org/team`."""
    from condainfra.config.checks import team_slug
    from condainfra.project import Project

    shipped = Project.load(REPO).orgs[ORG]
    taken = {team_slug(n) for n in [*shipped.config.teams, *shipped.feedstocks]}  # a slug is one team: no collisions
    rng = random.Random(seed)
    syllables = ["py", "lib", "data", "geo", "r", "cu", "xml", "net", "sci", "kit", "plot", "ml", "io", "jax", "qt", "ros", "bio", "tex"]
    names: set[str] = set()
    while len(names) < GENERATED_COUNT:
        words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 4)))]
        if rng.random() < 0.15:
            words[-1] += str(rng.randint(0, 99))
        separator = rng.choices(["-", "_", "."], weights=(92, 5, 3))[0]
        name = separator.join(words)
        if team_slug(name) not in taken:
            taken.add(team_slug(name))
            names.add(name)
    ordered = sorted(names)
    maintainers = {}
    for name in rng.sample(ordered, round(len(ordered) * MAINTAINED_SHARE)):
        logins = [f"user{rng.randrange(5000)}" for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.1:
            logins.append(f"{ORG}/core")
        maintainers[name] = sorted(set(logins))
    return ordered, maintainers


def fresh_project(folder: Path) -> Path:
    root = folder / "project"
    root.mkdir()
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(REPO / "stacks", root / "stacks")
    return root


def run(args: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> tuple[float, float, str, float]:
    """(wall seconds, peak MiB, output, CPU seconds) of one `condainfra` process: its own peak, not the
    largest so far. CPU time (user + system) is the steadier figure on a machine busy with other work."""
    with tempfile.TemporaryFile("w+") as output:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "condainfra", *args], cwd=cwd, stdout=output, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    if proc.returncode not in ok:
        raise SystemExit(f"condainfra {' '.join(args)} exited {proc.returncode}:\n{text[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024, text, usage.ru_utime + usage.ru_stime


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.email=bench@example.invalid", "-c", "user.name=bench", *args], check=True, capture_output=True)


def change_one_feedstock(root: Path) -> str:
    """Add a maintainer to the first entry of the first generated feedstock file: one TeamMembers change."""
    for path in sorted((root / "stacks" / ORG / "feedstocks").glob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        for i, line in enumerate(lines):
            if not line.startswith(("#", " ")) and ": [" in line:
                name = line.split(":", 1)[0]
                lines[i] = line.replace(": [", ": [bench-newcomer, ", 1).replace(", ]", "]")
                path.write_text("".join(lines), encoding="utf-8")
                return name
    raise SystemExit("no feedstock entry to change")


def write_sources(folder: Path, names: list[str], maintainers: dict[str, list[str]]) -> tuple[Path, Path]:
    outputs, known = folder / "outputs.json", folder / "maintainers.json"
    outputs.write_text(json.dumps({name: [name] for name in names}), encoding="utf-8")  # the importer's merged-outputs shape
    known.write_text(json.dumps({k: v for k, v in maintainers.items() if k in set(names)}), encoding="utf-8")
    return outputs, known


def validates(folder: Path, names: list[str], maintainers: dict[str, list[str]]) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(dir=folder) as probe:
        probe_dir = Path(probe)
        outputs, known = write_sources(probe_dir, names, maintainers)
        root = fresh_project(probe_dir)
        try:
            run(["import", "feedstocks", "--outputs", str(outputs), "--maintainers", str(known), "--org", ORG, "--root", str(root)], probe_dir, ok=(0, 1, 2))
            _, _, text, _ = run(["validate", "--root", str(root)], probe_dir, ok=(0, 1, 2))
        except SystemExit as exc:
            return False, str(exc)
        # validate prints its notes (warnings, unmaintained counts) beside the "ok:" line
        return any(line.startswith("ok:") for line in text.splitlines()), text


STEPS = ("import", "validate", "plan (markdown)", "plan (json)", "re-plan after one change")


def one_round(folder: Path, outputs: Path, known: Path) -> dict[str, tuple[float, float, float]]:
    """{step: (wall seconds, peak MiB, CPU seconds)} of one fresh import, validate, plans and re-plan."""
    root = fresh_project(folder)
    commands = {
        "import": (["import", "feedstocks", "--outputs", str(outputs), "--maintainers", str(known), "--org", ORG, "--root", str(root)], (0,)),
        "validate": (["validate", "--root", str(root)], (0,)),
        "plan (markdown)": (["plan", "--all", "--from-scratch", "--out", str(folder / "plan.md"), "--root", str(root)], (2,)),
        "plan (json)": (["plan", "--all", "--from-scratch", "--format", "json", "--out", str(folder / "plan.json"), "--root", str(root)], (2,)),
    }
    figures = {}
    for step, (command, ok) in commands.items():
        seconds, peak, _, cpu = run(command, folder, ok)
        figures[step] = (seconds, peak, cpu)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "imported")
    change_one_feedstock(root)
    seconds, peak, _, cpu = run(["plan", "--all", "--against", "HEAD", "--format", "json", "--out", str(folder / "replan.json"), "--root", str(root)], folder, ok=(2,))
    figures["re-plan after one change"] = (seconds, peak, cpu)
    counts = json.loads((folder / "replan.json").read_text(encoding="utf-8"))["counts"]
    if sum(counts.values()) != 1:
        raise SystemExit(f"the re-plan after one change should change one resource, it changes {counts}")
    shutil.rmtree(root)
    return figures


# The same chain in one process, through the library: what the work itself costs, without starting Python
# and the CLI three times and without the import's own check of the config that `validate` repeats.
ONE_PROCESS = """
import gc, json, resource, sys, time
from pathlib import Path
gc.set_threshold(200_000, 50, 1000)  # as the CLI does
start = time.perf_counter()
from condainfra.importers.feedstocks import import_feedstocks
from condainfra.plan import make_plan
from condainfra.plan.report import render
from condainfra.project import Project
root, outputs, known = (Path(a) for a in sys.argv[1:4])
import_feedstocks(root, "conda-forge", outputs, known, check=False)
project = Project.load(root)  # what `validate` does: load and check every file
plan = make_plan(project, project.stacks(), from_scratch=True, every_stack=True)
text = render(plan, "markdown")
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - start, "cpu": usage.ru_utime + usage.ru_stime, "peak": usage.ru_maxrss / 1024}))
"""


def one_process(folder: Path, outputs: Path, known: Path) -> dict[str, float]:
    root = fresh_project(folder)
    try:
        done = subprocess.run([sys.executable, "-c", ONE_PROCESS, str(root), str(outputs), str(known)], capture_output=True, text=True, check=True)
    finally:
        shutil.rmtree(root)
    return json.loads(done.stdout.strip().splitlines()[-1])


PROFILE = """
import cProfile, gc, io, pstats, sys, tracemalloc
from pathlib import Path
gc.set_threshold(200_000, 50, 1000)  # as the CLI does
from condainfra.project import Project
from condainfra.plan import make_plan
from condainfra.plan.report import render
root = Path(sys.argv[1])
profiler = cProfile.Profile()
profiler.enable()
project = Project.load(root)
plan = make_plan(project, project.stacks(), from_scratch=True, every_stack=True)
text = render(plan, "markdown")
profiler.disable()
out = io.StringIO()
pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
print("time, by function (cProfile, in process, load + plan + Markdown):")
print("\\n".join(out.getvalue().splitlines()[6:]))
del plan, text, project
tracemalloc.start(1)
project = Project.load(root)
plan = make_plan(project, project.stacks(), from_scratch=True, every_stack=True)
snapshot = tracemalloc.take_snapshot()
print("live memory after load + plan, by line (tracemalloc):")
for stat in snapshot.statistics("lineno")[:12]:
    frame = stat.traceback[0]
    print(f"  {stat.size / 2**20:7.1f} MiB {stat.count:9d} blocks  {frame.filename.split('/src/')[-1]}:{frame.lineno}")
print(f"  total {sum(s.size for s in snapshot.statistics('filename')) / 2**20:.1f} MiB")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with feedstocks.txt and maintainers.json")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--generated", action="store_true", help="use generated names even if the data is there")
    parser.add_argument("--profile", action="store_true", help="also print where the plan's time and memory go")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    data = None if args.generated else real_data(args.data)
    source = f"real data from {args.data}" if data else "generated names (no shared data)" if not args.generated else "generated names (--generated)"
    names, maintainers = data or generated_data()
    with tempfile.TemporaryDirectory(prefix="condainfra-realdata-") as tmp:
        folder = Path(tmp)
        print(f"source: {source}: {len(names)} feedstock names, maintainers known for {sum(1 for n in names if n in maintainers)}")
        ok, text = validates(folder, names, maintainers)
        if not ok:
            dropped = [n for n in COLLIDING if f"'{n}'" in text]  # only those still in conflict
            names = [n for n in names if n not in dropped]
            problems = [line.strip() for line in text.splitlines() if ": " in line and "stacks/" in line]
            print(f"the full list does not validate ({len(problems)} problem(s), e.g. {problems[0] if problems else text.strip()[:200]});")
            print(f"  dropped {len(dropped)} colliding name(s) (a real conflict needs `team:` in config): {', '.join(dropped)}")
            ok, text = validates(folder, names, maintainers)
            if not ok:
                raise SystemExit(f"still does not validate:\n{text[-3000:]}")
        outputs, known = write_sources(folder, names, maintainers)

        rounds = [one_round(folder, outputs, known) for _ in range(args.repeat)]
        print(f"{len(names)} feedstocks; each step its own process; median of {args.repeat} run(s) (peak: max RSS of that process)")
        for step in STEPS:
            seconds, peaks, cpus = ([r[step][i] for r in rounds] for i in range(3))
            print(
                f"  {step:26s} {statistics.median(seconds):6.2f} s (min {min(seconds):.2f}, max {max(seconds):.2f}), "
                f"CPU {statistics.median(cpus):5.2f} s, peak {statistics.median(peaks):4.0f} MiB (max {max(peaks):.0f})"
            )
        chain = ("import", "validate", "plan (markdown)")
        total = statistics.median(sum(r[s][0] for s in chain) for r in rounds)
        cpu = statistics.median(sum(r[s][2] for s in chain) for r in rounds)
        peak = max(r[s][1] for r in rounds for s in chain)
        started = [subprocess.run([sys.executable, "-c", "import time, resource; import condainfra.cli.main; u = resource.getrusage(resource.RUSAGE_SELF); print(u.ru_utime + u.ru_stime)"],
                                  capture_output=True, text=True, check=True) for _ in range(3)]
        startup = statistics.median(float(p.stdout) for p in started)
        print(f"import + validate + plan: {total:.2f} s together, CPU {cpu:.2f} s (of which ~{3 * startup:.2f} s CPU is starting Python and importing the CLI, three times), peak {peak:.0f} MiB")
        print(f"target: under 5 s and under 512 MiB: {'met' if total < 5 and peak < 512 else 'NOT met'}"
              f"{'' if total < 5 or cpu >= 5 else ' (but met in CPU time: the machine was busy; run again when idle)'}")

        single = [one_process(folder, outputs, known) for _ in range(args.repeat)]
        print(
            f"the same chain in one process (library calls, the import not checking what validate checks next): "
            f"{statistics.median(r['seconds'] for r in single):.2f} s, CPU {statistics.median(r['cpu'] for r in single):.2f} s, "
            f"peak {max(r['peak'] for r in single):.0f} MiB"
        )

        if args.profile:
            root = fresh_project(folder)
            run(["import", "feedstocks", "--outputs", str(outputs), "--maintainers", str(known), "--org", ORG, "--root", str(root)], folder)
            subprocess.run([sys.executable, "-c", PROFILE, str(root)], check=True)


if __name__ == "__main__":
    main()
