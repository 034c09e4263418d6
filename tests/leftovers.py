"""A test run fails if a process it started is still alive at its end (a server a test forgot, the Quetz
child of a `dashboard serve` a test killed alone): such a process holds a port and memory on a shared
machine for as long as nobody notices. Loaded by tests/conftest.py.

The pytest process makes itself the "child subreaper" of everything it starts (Linux prctl), so a
grandchild whose parent died is re-parented to pytest rather than to init, and is still found here as a
descendant, however it was started (its own session included)."""

from __future__ import annotations

import ctypes
import os
import time

import psutil
import pytest

PR_SET_CHILD_SUBREAPER = 36
GRACE = 5.0  # seconds a process that was told to stop gets to finish before it counts as left behind
GRACE_VARIABLE = "LEFTOVERS_GRACE"  # another grace, in seconds (tests/test_leftovers.py's inner runs)


def _become_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: direct descendants are still checked
        pass


def _alive_descendants(exclude: set[int]) -> list[psutil.Process]:
    alive = []
    for process in psutil.Process().children(recursive=True):
        try:
            if process.pid not in exclude and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            pass
    return alive


def _reap_zombies() -> None:
    """Orphans re-parented to us become zombies when they exit; nobody else will wait for them."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _describe(process: psutil.Process) -> str:
    try:
        return f"pid {process.pid}: {' '.join(process.cmdline())[:200] or process.name()}"
    except psutil.Error:
        return f"pid {process.pid}"


_START = pytest.StashKey[set]()


def pytest_configure(config: pytest.Config) -> None:
    _become_subreaper()
    config.stash[_START] = {p.pid for p in psutil.Process().children(recursive=True)}  # not ours to judge


@pytest.hookimpl(trylast=True)  # after every fixture, session-scoped ones included, has been torn down
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.pluginmanager.hasplugin("dsession"):
        return  # pytest-xdist's controller: its children are the workers, each of which checks its own tests
    exclude = session.config.stash.get(_START, set())
    deadline = time.monotonic() + float(os.environ.get(GRACE_VARIABLE) or GRACE)
    while (left := _alive_descendants(exclude)) and time.monotonic() < deadline:
        time.sleep(0.2)
    _reap_zombies()
    if not left:
        return
    lines = [f"error: {len(left)} process(es) the tests started were still alive at the end (killed now):"]
    lines += [f"  {_describe(p)}" for p in left]
    for process in left:  # stop them, so that the failure costs nothing more than a re-run
        try:
            for child in process.children(recursive=True):
                child.kill()
            process.kill()
        except psutil.Error:
            pass
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
