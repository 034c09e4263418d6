"""A throwaway PostgreSQL cluster: Debian's ``initdb`` and ``pg_ctl`` in a temporary folder, on a
unix socket and a loopback port, stopped and deleted when the process ends at the latest.

Run as root (the tests are), the cluster belongs to the unprivileged ``postgres`` user: PostgreSQL
refuses to run as root. Roles log in over TCP with a password (scram-sha-256), as on RDS, so a
password reaches the server exactly as a client sends it; the superuser uses the socket.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CondainfraError

SUPERUSER = "postgres"
# a test cluster: durability is not wanted, speed is
FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


def bin_dir() -> Path:
    """The newest installed PostgreSQL's programs (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise CondainfraError("PostgreSQL is not installed: apt-get install postgresql (scripts/test does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """``start()`` it, ``create_database()`` as often as needed, ``stop()`` it (or leave that to exit)."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="condainfra-pg-")))
    port: int = 0
    host: str = "127.0.0.1"
    _running: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def _as_owner(self) -> dict:
        # PostgreSQL refuses to run as root: the cluster is the unprivileged postgres user's
        if os.geteuid() != 0:
            return {}
        owner = pwd.getpwnam(SUPERUSER)
        return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}

    def _run(self, args: list[str], stdin: str | None = None, timeout: float = 120) -> str:
        result = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout, cwd=self.root, **self._as_owner())
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise CondainfraError(f"{Path(args[0]).name} failed ({result.returncode}): {' | '.join(tail)}; see {self.log}")
        return result.stdout

    def start(self) -> Cluster:
        programs = bin_dir()
        owner = self._as_owner()
        if owner:
            os.chown(self.root, owner["user"], owner["group"])
        self._run([str(programs / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-E", "UTF8", "--locale=C",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"])
        for attempt in range(3):  # a free port can be taken between the look and the bind
            self.port = self.port if attempt == 0 and self.port else _free_port()
            options = ["-c", f"listen_addresses={self.host}", "-p", str(self.port), "-k", str(self.socket_dir), *FAST]
            try:
                self._run([str(programs / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", " ".join(options), "start"])
                break
            except CondainfraError:
                if attempt == 2:
                    raise
        self._running = True
        atexit.register(self.stop)
        return self

    def psql(self, sql: str, database: str = "postgres", **variables: str) -> str:
        """Run ``sql`` as the superuser; ``variables`` are psql variables, quoted by psql where the
        SQL says ``:'name'`` (a literal) or ``:"name"`` (an identifier)."""
        args = [str(bin_dir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir), "-p", str(self.port),
                "-U", SUPERUSER, "-d", database]
        for name, value in variables.items():
            args += ["-v", f"{name}={value}"]
        return self._run(args, stdin=sql)

    def create_database(self, name: str, user: str, password: str) -> str:
        """A database owned by a new login role ``user``; returns its SQLAlchemy URL (with the password)."""
        self.psql('CREATE ROLE :"user" LOGIN PASSWORD :\'password\';\nCREATE DATABASE :"name" OWNER :"user";\n',
                  user=user, password=password, name=name)
        return self.url(name, user, password)

    def url(self, database: str, user: str, password: str) -> str:
        from sqlalchemy.engine import URL

        return URL.create("postgresql", username=user, password=password, host=self.host, port=self.port, database=database).render_as_string(hide_password=False)

    def stop(self) -> None:
        if self._running:
            self._running = False
            try:
                self._run([str(bin_dir() / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop"], timeout=60)
            except (CondainfraError, subprocess.TimeoutExpired):
                pass  # reported by the caller's own checks; the folder goes either way
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
