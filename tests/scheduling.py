"""How pytest-xdist's `--dist loadfile` hands test files to workers (scripts/test runs two): a file at a
time, except that every file whose tests take the session dashboards (the ``dashboard`` fixture of
tests/dashboard/conftest.py: a Quetz per database, with built and uploaded packages) goes to one worker
as a single unit, so that each of those servers is set up once per run rather than once per worker.
Loaded by tests/conftest.py; without xdist it does nothing."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

SHARED_FIXTURE = "dashboard"
SHARED_UNIT = "tests/dashboard (the session dashboards)"


@functools.cache
def takes_shared_fixture(path: str) -> bool:
    """Whether a test function of the file at ``path`` (relative to the rootdir) names the fixture."""
    try:
        tree = ast.parse(Path(path).read_text())
    except (OSError, SyntaxError, ValueError):
        return False
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
               and SHARED_FIXTURE in {a.arg for a in node.args.args + node.args.kwonlyargs}
               for node in ast.walk(tree))


def work_unit(nodeid: str, rootdir: Path) -> str:
    path = nodeid.split("::", 1)[0]
    return SHARED_UNIT if takes_shared_fixture(str(rootdir / path)) else path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    return scheduler_class(Path(config.rootpath))(config, log)


def scheduler_class(rootdir: Path):
    """xdist's loadfile scheduling with our units. It overrides xdist's private ``_split_scope``: a test
    checks that xdist still has it, so that a renamed method fails loudly instead of slowing the run."""
    from xdist.scheduler import LoadFileScheduling

    class SharedDashboardsScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid, rootdir)

    return SharedDashboardsScheduling
