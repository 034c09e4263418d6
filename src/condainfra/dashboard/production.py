"""The deployed container's start (``docker/quetz-entrypoint.sh`` runs ``python3 -m`` this module).

ECS gives the task the rendered config.toml (no secrets) and, from Secrets Manager, the database
password, the session secret and the GitHub client secret (names in :mod:`condainfra.config.quetz`). The start

1. writes config.toml with the secrets in their sections (owner-only, in the container's own disk):
   the file is Quetz's only source of configuration, because a ``QUETZ_<SECTION>_<KEY>`` variable
   would replace a whole section and drop the rendered keys beside it; any such variable is refused;
2. runs Quetz's migrations and the plugin's;
3. schedules the periodic jobs (refresh, sync-users), idempotently;
4. replaces itself with ``quetz start`` and its job supervisor, the secrets out of its environment but
   the optional GitHub API token, which the periodic jobs read from it.

A failure is one line on stderr with every secret (and its URL-quoted forms) masked, and exit 1.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tomllib
from pathlib import Path
from typing import Iterator, Mapping
from urllib.parse import quote, quote_plus, urlsplit

from ..config import quetz as quetz_config
from ..errors import CondainfraError

DEPLOYMENT_ENV, HOST_ENV, PORT_ENV = "CONDAINFRA_DEPLOYMENT", "CONDAINFRA_HOST", "CONDAINFRA_PORT"
DEFAULT_DEPLOYMENT, DEFAULT_HOST, DEFAULT_PORT = "/srv/quetz/deployment", "0.0.0.0", "8000"
# the only QUETZ_ variables Quetz may see: neither names a config section
QUETZ_ALLOWED = {"QUETZ_CONFIG_FILE", "QUETZ_LOG_LEVEL"}
MASK = "[secret]"
START_LOCK = 0x636F6E6461  # the advisory lock of the container's start ("conda"); any fixed number of our own


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise CondainfraError(f"environment variable {name} is not set (the task definition passes it)")
    return value


def database_url(env: Mapping[str, str]) -> str:
    """``postgresql://`` URL from ``DB_*``, each part escaped by SQLAlchemy's own URL rules."""
    from sqlalchemy.engine import URL

    host, port, name, user = (_required(env, k) for k in quetz_config.DATABASE_ENV)
    if not port.isdigit():
        raise CondainfraError(f"environment variable DB_PORT: {port!r} is not a port number")
    url = URL.create("postgresql", username=user, password=_required(env, quetz_config.DATABASE_PASSWORD_ENV), host=host, port=int(port), database=name)
    return url.render_as_string(hide_password=False)


def check_environment(env: Mapping[str, str]) -> None:
    stray = sorted(k for k in env if k.startswith("QUETZ_") and k not in QUETZ_ALLOWED)
    if stray:
        raise CondainfraError(
            f"{', '.join(stray)} set: Quetz would take a QUETZ_<SECTION>_<KEY> variable as the whole section and drop "
            f"the rendered config's other keys there; put the value in the rendered config ({quetz_config.CONFIG_ENV}) instead"
        )


def compose_config(env: Mapping[str, str]) -> str:
    """The rendered config with the secrets and the database URL put into their sections."""
    check_environment(env)
    try:
        sections = tomllib.loads(_required(env, quetz_config.CONFIG_ENV))
    except tomllib.TOMLDecodeError as exc:
        raise CondainfraError(f"{quetz_config.CONFIG_ENV}: not TOML: {exc}") from None
    for name, (section, key) in quetz_config.SECRET_ENV.items():
        sections.setdefault(section, {})[key] = _required(env, name)
    sections.setdefault("sqlalchemy", {})["database_url"] = database_url(env)
    return quetz_config.render(sections, header="Written at the container's start from the rendered config and the task's secrets.")


def secret_forms(env: Mapping[str, str]) -> set[str]:
    """Every form in which a secret could reach a message: as it is, URL-quoted, as it sits in the
    database URL, and with ConfigParser's doubled percent signs."""
    values = {env.get(k, "") for k in (*quetz_config.SECRET_ENV, quetz_config.DATABASE_PASSWORD_ENV, quetz_config.GITHUB_TOKEN_ENV)}
    forms = set()
    for value in filter(None, values):
        forms |= {value, quote(value, safe=""), quote_plus(value)}
    try:
        in_url = urlsplit(database_url(env)).password
        if in_url:
            forms |= {in_url, in_url.replace("%", "%%")}
    except CondainfraError:
        pass
    return {f for f in forms if len(f) >= 4}  # a tiny "secret" would mask ordinary words


def masked(text: str, forms: set[str]) -> str:
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


def prepare(deployment: Path, env: Mapping[str, str]) -> None:
    """Steps 1 to 3. Idempotent: every container start runs them."""
    text = compose_config(env)
    (deployment / "channels").mkdir(parents=True, exist_ok=True)
    config = deployment / "config.toml"
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(config, 0o600)  # a file left by an earlier start keeps its mode otherwise

    from .actions import schedule_jobs
    from .deployment import Deployment
    from .quetz_adapter import migrate

    with one_start_at_a_time(database_url(env)):
        migrate(deployment)
        schedule_jobs(Deployment(deployment))


@contextlib.contextmanager
def one_start_at_a_time(url: str) -> Iterator[None]:
    """Tasks that start together (several tasks, a rolling deployment) take turns: two alembic runs at
    once both create the first table and one fails; two schedulers both insert the job. A PostgreSQL
    advisory lock, held by a connection of its own, released when it closes."""
    from sqlalchemy import create_engine, pool, text

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": START_LOCK})
            conn.commit()
            yield
    finally:
        engine.dispose()


def quetz_environment(env: Mapping[str, str], deployment: Path) -> dict[str, str]:
    drop = {*quetz_config.SECRET_ENV, quetz_config.DATABASE_PASSWORD_ENV, quetz_config.CONFIG_ENV}
    return {k: v for k, v in env.items() if k not in drop} | {"QUETZ_CONFIG_FILE": str(deployment / "config.toml")}


def main() -> int:
    env = dict(os.environ)
    deployment = Path(env.get(DEPLOYMENT_ENV, DEFAULT_DEPLOYMENT)).resolve()
    host, port = env.get(HOST_ENV, DEFAULT_HOST), env.get(PORT_ENV, DEFAULT_PORT)
    forms = secret_forms(env)
    try:
        prepare(deployment, env)
    except Exception as exc:  # noqa: BLE001 - whatever failed, its message may carry a secret: masked, one line
        detail = str(exc) if isinstance(exc, CondainfraError) else f"{type(exc).__name__}: {exc}"
        # one line: SQLAlchemy and psycopg2 append background notes and connection details below
        detail = next((line.strip() for line in detail.splitlines() if line.strip()), type(exc).__name__)
        print(f"error: {masked(detail, forms)}", file=sys.stderr)
        return 1
    args = ["quetz", "start", str(deployment), "--host", host, "--port", port, "--proxy-headers", "--supervisor", "--log-level", "info"]
    os.execvpe("quetz", args, quetz_environment(env, deployment))
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
