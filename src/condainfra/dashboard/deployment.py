"""A local Quetz deployment with the plugin: created on first use, migrated, started on loopback.

This is the embedded default behind ``condainfra dashboard serve``: SQLite, a package store
in the deployment folder, no cloud account. Quetz is never put in dev mode here, so its
/api/dummylogin stays closed.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..config import quetz as quetz_config
from ..errors import CondainfraError
from ..output import write_atomic

CONFIG = "config.toml"
SQLITE_URL = "sqlite:///./quetz.sqlite"  # relative to the deployment folder


def render_config(settings: dict[str, object], session_secret: str, database_url: str = SQLITE_URL, log_file: Path | str = "quetz.log") -> str:
    """Quetz's config.toml for a local deployment; ``settings`` is the plugin's own section.
    Served on 127.0.0.1 over plain http, so session cookies are not https-only here. The file is
    the owner's only (it holds the session secret and a database URL's password)."""
    return quetz_config.render(
        {
            "sqlalchemy": {"database_url": database_url},
            "session": {"secret": session_secret, "https_only": False},
            # Quetz opens it relative to whatever folder a command runs in: the deployment's own
            # folder is written in by `prepare`, so the log never lands in the caller's checkout
            "logging": {"level": "INFO", "file": str(log_file)},
            "plugins": {"enabled": [quetz_config.PLUGIN_SECTION]},
            quetz_config.PLUGIN_SECTION: dict(settings),
        },
        header="Written by `condainfra dashboard serve`; edit freely, it is reused as it is.",
    )


@dataclass
class Deployment:
    path: Path

    @property
    def config_file(self) -> Path:
        return self.path / CONFIG

    def exists(self) -> bool:
        return self.config_file.is_file()

    def check_new(self) -> None:
        """Refuse a folder that holds something else: a deployment is created only where nothing is."""
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise CondainfraError(f"--dir {self.path}: not empty and not a dashboard deployment (no {CONFIG}); choose another folder")

    def create(self, settings: dict[str, object], database_url: str | None = None) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "channels").mkdir(exist_ok=True)
        write_atomic(self.config_file, render_config(settings, secrets.token_hex(32), database_url or SQLITE_URL, self.path.resolve() / "quetz.log"))
        os.chmod(self.config_file, 0o600)  # it holds the session secret

    def database_url(self) -> str:
        """The configured database URL, as written (password included: never shown as it is)."""
        import tomllib

        try:
            return str(tomllib.loads(self.config_file.read_text()).get("sqlalchemy", {}).get("database_url", ""))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise CondainfraError(f"{self.config_file}: {exc}") from None

    def migrate(self) -> None:
        """Quetz's migrations and the plugin's, in a child process: Quetz reads its config once per process."""
        self._python("from condainfra.dashboard.quetz_adapter import migrate; import sys; from pathlib import Path; migrate(Path(sys.argv[1]))", str(self.path))

    def _python(self, code: str, *args: str) -> None:
        env = {**os.environ, "QUETZ_CONFIG_FILE": str(self.config_file.resolve())}
        result = subprocess.run([sys.executable, "-c", code, *args], cwd=self.path, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise CondainfraError(f"{self.path}: {tail[0]} (see {self.path / 'quetz.log'})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


@contextmanager
def _stop_signals_held():
    """A Ctrl-C (or SIGTERM, SIGHUP) that lands while Quetz is being forked is acted on once its Popen
    exists: raised inside Popen, it would leave a child in its own session that nothing knows to stop."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread, where the signals are delivered anyway
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, lambda number, _frame: caught.append(number)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in caught:
            signal.raise_signal(sig)  # now to the handler that was in place: it stops the server


class QuetzServer:
    """``quetz start`` in its own process group (its job supervisor forks children), stopped as a group."""

    def __init__(self, deployment: Deployment, host: str = "127.0.0.1", port: int | None = None, supervisor: bool = True):
        self.deployment = deployment
        self.host = host
        self.port = port or free_port()
        self.supervisor = supervisor
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> QuetzServer:
        if port_in_use(self.host, self.port):
            raise CondainfraError(f"port {self.port} on {self.host} is already in use; pass another --port")
        env = {**os.environ, "QUETZ_CONFIG_FILE": str(self.deployment.config_file.resolve())}
        args = [sys.executable, "-m", "quetz.cli", "start", str(self.deployment.path), "--host", self.host, "--port", str(self.port),
                "--no-proxy-headers", "--log-level", "warning", "--supervisor" if self.supervisor else "--no-supervisor"]
        try:
            with (self.deployment.path / "server.log").open("ab") as log, _stop_signals_held():
                self.proc = subprocess.Popen(args, cwd=self.deployment.path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self._wait_ready(timeout)
        except BaseException:
            # its own session does not get the terminal's Ctrl-C: whatever stops us here stops it too
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CondainfraError(f"Quetz exited with code {self.proc.returncode} while starting; see {self.deployment.path / 'server.log'}")
            try:
                if httpx.get(f"{self.url}/api/channels", timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise CondainfraError(f"Quetz did not answer on {self.url} within {timeout:.0f} s; see {self.deployment.path / 'server.log'}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # the supervisor's own children share the group; make sure none outlives us
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def __enter__(self) -> QuetzServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
