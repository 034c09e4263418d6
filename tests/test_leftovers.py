"""The end-of-run check (tests/leftovers.py) fails a run that leaves a process behind, finds an orphan in
a session of its own, and stops what it found; a run that cleans up passes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from tests.leftovers import GRACE_VARIABLE

TESTS = Path(__file__).resolve().parent


def _pytest(tmp_path: Path, body: str, grace: float | None = None) -> subprocess.CompletedProcess:
    """An inner pytest run of ``body`` with the check loaded; its temporary files stay in ``tmp_path`` (the
    default would clean other runs' old folders), plugins the inner tests do not use are not loaded."""
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(body))
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    env.pop(GRACE_VARIABLE, None)
    if grace is not None:
        env[GRACE_VARIABLE] = str(grace)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "leftovers", "-c", os.devnull, "--rootdir", str(tmp_path), "-p", "no:cacheprovider",
         "-p", "no:xdist", "-p", "no:hypothesispytest", "--basetemp", str(tmp_path / "inner-tmp"), str(tmp_path / "test_inner.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_a_forgotten_server_and_an_orphan_in_its_own_session_fail_the_run(tmp_path):
    pids = tmp_path / "pids"
    # the check waits its grace for what is still running before it calls it left behind: these never end
    result = _pytest(tmp_path, f"""
        import subprocess
        from pathlib import Path

        def test_forgets_a_child():
            child = subprocess.Popen(["sleep", "300"])
            Path({str(pids)!r}).write_text(str(child.pid) + "\\n")

        def test_orphans_a_grandchild():
            # the parent exits at once, its own-session child is re-parented (to the run, not to init)
            out = subprocess.run(["setsid", "sh", "-c", "sleep 301 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True, check=True).stdout
            with open({str(pids)!r}, "a") as f:
                f.write(out)
    """, grace=1.0)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "2 process(es) the tests started were still alive at the end" in result.stdout
    assert "sleep 300" in result.stdout and "sleep 301" in result.stdout
    for pid in map(int, pids.read_text().split()):
        assert _gone(pid), f"pid {pid} was left running"


def test_a_run_that_stops_what_it_starts_passes(tmp_path):
    result = _pytest(tmp_path, """
        import subprocess

        def test_stops_its_child():
            child = subprocess.Popen(["sleep", "300"])
            child.terminate()
            child.wait()

        def test_a_child_that_ends_on_its_own():
            subprocess.Popen(["sh", "-c", "sleep 0.5"])
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "still alive" not in result.stdout
