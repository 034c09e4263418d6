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


def stop_everything(proc: subprocess.Popen, folder: Path) -> None:
    """Teardown whatever happened in the test: `serve` (SIGTERM makes it stop its Quetz), then every
    process of the deployment (Quetz runs in a session of its own, out of reach of the test's signals)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    for pid in _processes_using(folder):
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)  # the Quetz group: its supervisor's children too
        except (ProcessLookupError, PermissionError):
            pass


def wait_for_url(proc: subprocess.Popen, log, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log.seek(0)
        text = log.read()
        match = re.search(r"dashboard: (http://127\.0\.0\.1:\d+)/dashboard/", text)
        if match:
            return match.group(1)
        if proc.poll() is not None:
            pytest.fail(f"serve exited with {proc.returncode}: {text[-2000:]}")
        time.sleep(0.3)
    pytest.fail(f"serve printed no URL within {timeout:.0f} s")


@pytest.fixture
def demo_server(tmp_path):
    folder = tmp_path / "demo-deployment"
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen([*CLI, "dashboard", "serve", "--demo", "--dir", str(folder)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        url = wait_for_url(proc, log)
        yield proc, url, folder, tmp_path / "serve.log"
    finally:
        stop_everything(proc, folder)


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
    code = "import sys; sys.modules['quetz'] = None; from condainfra.cli.entry import entry; sys.argv = ['condainfra', 'dashboard', 'serve', '--dir', sys.argv[1]]; entry()"
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
    try:
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
    finally:
        stop_everything(proc, folder)


def test_serve_on_postgresql_stops_on_sigint_it_inherited_ignored(tmp_path, pg_cluster):
    """As from a script's background job or `nohup`: SIGINT ignored from the start. `--database-url`
    puts the deployment on PostgreSQL and is shown without its password; a sync-users problem is
    printed, not only its count."""
    from .conftest import new_database, write_sources

    password = "cli%=@:/#?pass"
    url = new_database(pg_cluster, "serve_cli", "serve_cli", password)
    project = write_sources(tmp_path / "sources")["project_root"]
    folder = tmp_path / "pg-deployment"
    log = (tmp_path / "serve.log").open("w+")
    env = {**os.environ, "CONDAINFRA_DATABASE_URL": url}
    proc = subprocess.Popen([*CLI, "dashboard", "serve", "--dir", str(folder), "--root", project], stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp_path, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        base = wait_for_url(proc, log)
        assert httpx.get(f"{base}/api/channels", timeout=10).status_code == 200
        assert httpx.get(f"{base}/dashboard/", timeout=30).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        deadline = time.monotonic() + 15
        while _processes_using(folder) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_using(folder) == [], "a process of the deployment outlived SIGINT"
    finally:
        stop_everything(proc, folder)
    text = (tmp_path / "serve.log").read_text()
    assert f"database: postgresql://127.0.0.1:{pg_cluster.port}/serve_cli" in text  # shown without userinfo
    assert "cli%" not in text and "cli%25" not in text
    assert "warning: sync-users: channel 'conda-forge' does not exist in Quetz" in text
    assert "Traceback" not in text
    # Quetz's import-time warnings, which looked like errors: their causes (psycopg2, xattr) are installed
    assert "Could not import postgres backend" not in text and "xattr not installed" not in text


def test_serve_refuses_another_database_for_an_existing_deployment(tmp_path, cli):
    from condainfra.dashboard.deployment import Deployment

    Deployment(tmp_path / "d").create({})
    result = cli("dashboard", "serve", "--dir", str(tmp_path / "d"), "--database-url", "postgresql://u:hunter22@127.0.0.1:1/q")
    assert result.code == 1
    assert "uses sqlite:///./quetz.sqlite, not postgresql://127.0.0.1:1/q" in result.err and "hunter22" not in result.err
