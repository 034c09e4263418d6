"""`condainfra dashboard serve --demo` as a newcomer runs it: a real process, its pages, and
Ctrl-C that leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CLI = [sys.executable, "-m", "condainfra"]


def _processes_using(folder: Path) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if str(folder) in cmdline or str(folder).encode() in environ:
            found.append(int(pid))
    return found


@pytest.fixture
def demo_server(tmp_path):
    folder = tmp_path / "demo-deployment"
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen([*CLI, "dashboard", "serve", "--demo", "--dir", str(folder)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and url is None:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"serve exited with {proc.returncode}: {log.read()[-2000:]}")
        log.seek(0)
        match = re.search(r"dashboard: (http://127\.0\.0\.1:\d+)/dashboard/", log.read())
        url = match.group(1) if match else None
        time.sleep(0.3)
    assert url, "serve --demo printed no URL within 2 minutes"
    yield proc, url, folder, tmp_path / "serve.log"
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_serve_demo_answers_and_ctrl_c_stops_everything(demo_server):
    proc, url, folder, log = demo_server
    overview = httpx.get(f"{url}/dashboard/", timeout=30)
    assert overview.status_code == 200
    logins = re.findall(r'href="/dashboard/maintainers/([^"]+)"', overview.text)
    assert "h-vetinari" in logins
    view = httpx.get(f"{url}/api/dashboard/maintainers/h-vetinari", timeout=30).json()
    names = {p["name"] for p in view["packages"]}
    assert {"numpy", "scipy", "openssl"} <= names
    numpy = next(p for p in view["packages"] if p["name"] == "numpy")
    assert numpy["lagging_subdirs"] == ["win-64"] and numpy["mirror"]["caught_up"] is False
    assert view["attention"][0]["kind"] == "migration-blocked"
    assert httpx.get(f"{url}/api/dummylogin/h-vetinari", timeout=10).status_code == 404
    assert _processes_using(folder), "the server's processes should be visible while it runs"

    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    deadline = time.monotonic() + 15
    while _processes_using(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_using(folder) == [], "a process of the deployment outlived Ctrl-C"
    assert "Traceback" not in log.read_text()


def test_serve_without_the_extra_says_what_to_install(tmp_path):
    # Quetz made unimportable, as on a core-only install
    code = "import sys; sys.modules['quetz'] = None; from condainfra.cli.main import entry; sys.argv = ['condainfra', 'dashboard', 'serve', '--dir', sys.argv[1]]; entry()"
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "d")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: the dashboard needs Quetz: pip install 'condainfra[dashboard]'"
    assert not (tmp_path / "d").exists()


def test_serve_refuses_a_folder_that_is_not_a_deployment(tmp_path, cli):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    result = cli("dashboard", "serve", "--dir", str(tmp_path / "other"))
    assert result.code == 1
    assert "not empty and not a dashboard deployment" in result.err
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["notes.txt"]


def test_refresh_needs_an_existing_deployment(tmp_path, cli):
    result = cli("dashboard", "refresh", "--dir", str(tmp_path / "none"))
    assert result.code == 1 and "no dashboard deployment there" in result.err


def test_ctrl_c_while_quetz_starts_leaves_nothing_running(tmp_path):
    folder = tmp_path / "early"
    proc = subprocess.Popen([*CLI, "dashboard", "serve", "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not (folder / "server.log").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert (folder / "server.log").exists(), "Quetz was never started"
    proc.send_signal(signal.SIGINT)  # Quetz is starting, not yet answering
    proc.wait(30)
    deadline = time.monotonic() + 15
    while _processes_using(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_using(folder) == [], "Quetz outlived a Ctrl-C during its start"
    assert "Traceback" not in proc.stderr.read().decode()
