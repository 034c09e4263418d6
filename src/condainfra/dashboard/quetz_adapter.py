"""Every use of Quetz's internals, in one place.

Quetz 0.10.4 is the last release and its internals are not an API: a later Quetz, or a fork,
should change this file and nothing else. The rest of the plugin sees plain functions and
the table classes re-exported here.
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from quetz import authorization, hookimpl
from quetz.config import Config
from quetz.db_models import ApiKey, Base, Channel, ChannelMember, Identity, Package, PackageFormatEnum, PackageMember, PackageVersion, Profile, User
from quetz.deps import get_db, get_rules
from quetz.jobs.models import Job
from quetz.metrics.db_models import IntervalType, PackageVersionMetric
from quetz.versionorder import VersionOrder
from sqlalchemy import func
from sqlalchemy.orm import Session

from .settings import SECTION, DashboardSettings, parse_settings, resolved

__all__ = [
    "ApiKey", "Base", "Channel", "ChannelMember", "Identity", "IntervalType", "Package", "PackageFormatEnum", "PackageMember",
    "PackageVersion", "PackageVersionMetric", "Profile", "User", "get_db", "get_rules", "hookimpl",
]

CONFIG_ENV = "QUETZ_CONFIG_FILE"
OWNER, MAINTAINER, MEMBER = authorization.OWNER, authorization.MAINTAINER, authorization.MEMBER
READ_ROLES = [OWNER, MAINTAINER, MEMBER]
PLUGIN_NAME = "condainfra_dashboard"


def current_config() -> Config:
    return Config()


def deployment_dir(config: Config | None = None) -> Path:
    path = os.environ.get(CONFIG_ENV)
    return Path(path).resolve().parent if path else Path.cwd()


def settings(config: Config | None = None) -> DashboardSettings:
    config = config or current_config()
    parsed = parse_settings(getattr(config, "config", {}).get(SECTION), f"{os.environ.get(CONFIG_ENV, 'config.toml')}: [{SECTION}]")
    return resolved(parsed, deployment_dir())


def plugins_enabled(config: Config) -> list[str] | None:
    return list(config.plugins_enabled) if config.configured_section("plugins") else None


@contextlib.contextmanager
def session_for(deployment: Path) -> Iterator[Session]:
    """A database session of the deployment in ``deployment``, on an engine of its own: Quetz keeps
    one global engine per process, which would tie every later deployment to the first one."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    config_file = (deployment / "config.toml").resolve()
    os.environ[CONFIG_ENV] = str(config_file)
    url = Config(str(config_file)).sqlalchemy_database_url
    kwargs = {}
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not path.startswith("/"):  # quetz's sqlite URLs are relative to the deployment folder
            url = f"sqlite:///{(deployment / path).resolve()}"
        kwargs["connect_args"] = {"check_same_thread": False}
    engine = create_engine(url, **kwargs)
    db = sessionmaker(bind=engine, autoflush=True)()
    try:
        yield db
    finally:
        db.close()
        engine.dispose()


def migrate(deployment: Path) -> None:
    """Quetz's migrations and every plugin's (ours included): what `quetz init-db` runs."""
    from quetz.cli import _alembic_config, _run_migrations

    config_file = (deployment / "config.toml").resolve()
    os.environ[CONFIG_ENV] = str(config_file)
    config = Config(str(config_file))
    previous = Path.cwd()
    os.chdir(deployment)
    try:
        # alembic keeps the URL in a ConfigParser, which reads `%` as interpolation: a percent-encoded
        # password (any base64 one ends in %3D) must reach it with each `%` doubled
        _run_migrations(alembic_config=_alembic_config(config.sqlalchemy_database_url.replace("%", "%%")))
        write_ahead_log(config.sqlalchemy_database_url)
    finally:
        os.chdir(previous)


def write_ahead_log(url: str) -> None:
    """SQLite only: write-ahead logging, kept in the file, so that pages go on reading while the refresh
    job writes (with SQLite's default journal a long write locks readers out: "database is locked")."""
    import sqlite3
    from contextlib import closing

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        with closing(sqlite3.connect(parsed.database)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")


@functools.lru_cache(maxsize=65536)
def version_key(version: str):
    """conda's version ordering (Quetz's implementation), or None for a version it cannot parse.
    Cached: a page compares the same few versions thousands of times."""
    try:
        return VersionOrder(version)
    except Exception:  # upstream data: an unparseable version sorts nowhere rather than failing a page
        return None


@functools.lru_cache(maxsize=262144)
def newer(a: str, b: str) -> bool:
    ka, kb = version_key(a), version_key(b)
    if ka is None:
        return False
    if kb is None:
        return True
    return ka > kb


def newer_build(a: tuple[str, int], b: tuple[str, int]) -> bool:
    """(version, build number) ordering: a newer version, or a rebuild of the same one."""
    return newer(a[0], b[0]) or (a[0] == b[0] and a[1] > b[1])


# --- the connection leak of Quetz 0.10.4 under fastapi 0.115 ---------------------------------

def close_sessions_after_background_tasks() -> None:
    """Quetz hands a request's database session (inside its ``Dao``) to background tasks, such as
    the index update after every upload. fastapi 0.115 runs the request's dependency clean-up, which
    closes that session, *before* the background task; the task then silently checks out a fresh
    pooled connection on the closed session and nothing ever returns it. One connection leaks per
    upload, and after about 50 uploads every request fails with "QueuePool limit ... reached".

    Wrap Quetz's background-task wrapper so each task closes the sessions it was given when it ends.
    (fastapi 0.118 fixes the order, but Quetz 0.10.4 is released against 0.115.) Idempotent.
    """
    import sys

    import quetz.utils
    from quetz.dao import Dao

    original = quetz.utils.background_task_wrapper
    if getattr(original, "_closes_sessions", False):
        return

    def background_task_wrapper(func, logger):
        wrapped = original(func, logger)

        @functools.wraps(wrapped)
        async def closing(*args, **kwargs):
            try:
                await wrapped(*args, **kwargs)
            finally:
                for value in (*args, *kwargs.values()):
                    if isinstance(value, Dao):
                        value.db.close()

        return closing

    background_task_wrapper._closes_sessions = True
    quetz.utils.background_task_wrapper = background_task_wrapper
    # quetz.main imported the name before it loads plugins (this module is imported from there)
    main = sys.modules.get("quetz.main")
    if main is not None and hasattr(main, "background_task_wrapper"):
        main.background_task_wrapper = background_task_wrapper


# --- identity and permissions -------------------------------------------------------------

def anonymous_rules(db: Session) -> authorization.Rules:
    """Quetz's permission rules for a visitor who is not signed in."""
    return authorization.Rules(None, {}, db)


def viewer(auth: authorization.Rules) -> bytes | None:
    """The signed-in user's id (session or API key), or None."""
    return auth.get_user()


def is_elevated(auth: authorization.Rules, user_id: bytes | None) -> bool:
    return bool(user_id) and bool(auth.is_user_elevated(user_id))


def private_channel_access(db: Session, auth: authorization.Rules) -> tuple[set[str], set[tuple[str, str]], bool]:
    """What the viewer may read of private channels: (whole channels, (channel, package) pairs,
    everything). Public channels are readable by anyone; two queries, whatever the page size."""
    user_id = viewer(auth)
    if not user_id:
        return set(), set(), False
    if is_elevated(auth, user_id):
        return set(), set(), True
    channels = {c for (c,) in db.query(ChannelMember.channel_name).filter(ChannelMember.user_id == user_id, ChannelMember.role.in_(READ_ROLES))}
    packages = {
        (c, p)
        for c, p in db.query(PackageMember.channel_name, PackageMember.package_name).filter(PackageMember.user_id == user_id, PackageMember.role.in_(READ_ROLES))
    }
    return channels, packages, False


def _user_named(db: Session, login: str):
    # GitHub logins are case-insensitive; Quetz keeps the case a user signed in with
    return db.query(User).filter(func.lower(User.username) == login.lower()).first()


def usernames(db: Session) -> set[str]:
    """Every user's login, lower-cased (GitHub logins are case-insensitive)."""
    return {name.lower() for (name,) in db.query(User.username) if name}


def user_id_of(db: Session, login: str) -> bytes | None:
    user = _user_named(db, login)
    return user.id if user else None


def create_user(db: Session, login: str, github_id: int | None, avatar_url: str = "") -> bytes:
    """A Quetz user for a GitHub login, with the GitHub identity the authenticator looks users up by,
    so that the person's first sign-in finds this user instead of failing on a taken name."""
    user = None
    if github_id is not None:  # the identity decides: a renamed GitHub account is still the same user
        user = db.query(User).join(Identity, Identity.user_id == User.id).filter(Identity.provider == "github", Identity.identity_id == str(github_id)).first()
    user = user or _user_named(db, login)
    if user is None:
        user = User(id=uuid.uuid4().bytes, username=login)
        db.add(user)
        db.add(Profile(user=user, name=login, avatar_url=avatar_url))
    if github_id is not None and not any(i.provider == "github" for i in user.identities):
        db.add(Identity(provider="github", identity_id=str(github_id), username=login, user=user))
    db.flush()
    return user.id


def set_server_role(db: Session, login: str, role: str | None) -> None:
    _user_named(db, login).role = role


def create_api_key(db: Session, login: str, description: str) -> str:
    """An API key of the user (what `quetz`'s own API does for a signed-in user), for clients and tests."""
    user_id = user_id_of(db, login)
    if user_id is None:
        raise LookupError(f"no Quetz user {login!r}")
    key = uuid.uuid4().hex
    db.add(ApiKey(key=key, description=description, user_id=user_id, owner_id=user_id))
    db.commit()
    return key


def package_roles(db: Session) -> dict[tuple[str, str, str], str]:
    """(channel, package, login) -> role, for every package member."""
    rows = db.query(PackageMember.channel_name, PackageMember.package_name, User.username, PackageMember.role).join(User, User.id == PackageMember.user_id)
    return {(c, p, u.lower()): r for c, p, u, r in rows}


def set_package_role(db: Session, channel: str, package: str, login: str, role: str | None) -> None:
    user_id = user_id_of(db, login)
    query = db.query(PackageMember).filter(PackageMember.channel_name == channel, PackageMember.package_name == package, PackageMember.user_id == user_id)
    if role is None:
        query.delete(synchronize_session=False)
        return
    member = query.one_or_none()
    if member is None:
        db.add(PackageMember(channel_name=channel, package_name=package, user_id=user_id, role=role))
    else:
        member.role = role


def channel_roles(db: Session, channel: str) -> dict[str, str]:
    rows = db.query(User.username, ChannelMember.role).join(User, User.id == ChannelMember.user_id).filter(ChannelMember.channel_name == channel)
    return {u.lower(): r for u, r in rows}


def set_channel_role(db: Session, channel: str, login: str, role: str | None) -> None:
    user_id = user_id_of(db, login)
    query = db.query(ChannelMember).filter(ChannelMember.channel_name == channel, ChannelMember.user_id == user_id)
    if role is None:
        query.delete(synchronize_session=False)
        return
    member = query.one_or_none()
    if member is None:
        db.add(ChannelMember(channel_name=channel, user_id=user_id, role=role))
    else:
        member.role = role


def channel_exists(db: Session, channel: str) -> bool:
    return db.query(Channel.name).filter(Channel.name == channel).count() > 0


def create_channel(db: Session, name: str, private: bool = False, description: str = "") -> None:
    if not channel_exists(db, name):
        db.add(Channel(name=name, description=description, private=private))
        db.commit()


def packages_in(db: Session, channel: str) -> set[str]:
    return {n for (n,) in db.query(Package.name).filter(Package.channel_name == channel)}


# --- periodic jobs ------------------------------------------------------------------------

def ensure_periodic_job(db: Session, function: str, every_seconds: int) -> None:
    """A Quetz job that runs ``condainfra_dashboard:<function>`` every ``every_seconds``
    (``items_spec`` None makes it a channel-action job that repeats)."""
    manifest = f"{PLUGIN_NAME}:{function}".encode("ascii")
    job = db.query(Job).filter(Job.manifest == manifest).first()
    if job is None:
        db.add(Job(manifest=manifest, items_spec=None, repeat_every_seconds=every_seconds, start_at=None, owner_id=None))
    else:
        job.repeat_every_seconds = every_seconds
    db.commit()


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
