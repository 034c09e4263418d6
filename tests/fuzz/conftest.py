"""Hypothesis settings for the fuzzers, and the count of examples each ran, printed in the summary.

The default budget keeps the folder under ten seconds; CONDAINFRA_FUZZ_EXAMPLES=N runs N examples per test."""

from __future__ import annotations

import os
import time
from collections import Counter

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("CONDAINFRA_FUZZ_EXAMPLES", "300"))

# derandomized by default: CI runs the same examples each time, so a failure is reproducible from the log
settings.register_profile(
    "condainfra",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="CONDAINFRA_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,
)
settings.load_profile("condainfra")

RUN: Counter[str] = Counter()
_STARTED = time.monotonic()


def count(name: str) -> None:
    RUN[name] += 1


def pytest_terminal_summary(terminalreporter):
    if not RUN:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fuzz examples")
    for name, n in sorted(RUN.items()):
        write(f"{name}: {n} examples")
    write(f"total: {sum(RUN.values())} examples in {time.monotonic() - _STARTED:.1f} s (budget {EXAMPLES} per test; CONDAINFRA_FUZZ_EXAMPLES=N to change)")
