"""The plugin's own tables (Quetz's ``quetz.models`` entry point). They hold the signals that
come from outside Quetz, written by the refresh job, so that no page request waits on the network.
Created by the alembic migration in ``migrations/versions``."""

from __future__ import annotations

import sqlalchemy as sa

from .quetz_adapter import Base


class Feedstock(Base):
    __tablename__ = "condainfra_feedstocks"

    org = sa.Column(sa.String, primary_key=True)
    name = sa.Column(sa.String, primary_key=True)
    stack = sa.Column(sa.String, nullable=False)
    archived = sa.Column(sa.Boolean, nullable=False, default=False)


class FeedstockOutput(Base):
    """package -> the feedstock that builds it (a feedstock builds one or more packages)."""

    __tablename__ = "condainfra_feedstock_outputs"

    package = sa.Column(sa.String, primary_key=True)
    org = sa.Column(sa.String, nullable=False)
    feedstock = sa.Column(sa.String, nullable=False)


class FeedstockMaintainer(Base):
    __tablename__ = "condainfra_feedstock_maintainers"

    org = sa.Column(sa.String, primary_key=True)
    feedstock = sa.Column(sa.String, primary_key=True)
    login = sa.Column(sa.String, primary_key=True, index=True)
    via_team = sa.Column(sa.String, nullable=False, default="")


class BotSignal(Base):
    """One thing the autotick bot says about a feedstock: a failed version update, a queued one,
    or its state in a migration."""

    __tablename__ = "condainfra_bot_signals"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    feedstock = sa.Column(sa.String, nullable=False, index=True)
    kind = sa.Column(sa.String, nullable=False)  # version-error | version-queued | migration
    migration = sa.Column(sa.String, nullable=False, default="")
    state = sa.Column(sa.String, nullable=False, default="")
    descendants = sa.Column(sa.Integer, nullable=False, default=0)
    attempts = sa.Column(sa.Float, nullable=False, default=0.0)
    url = sa.Column(sa.String, nullable=True)
    detail = sa.Column(sa.Text, nullable=False, default="")


class MirrorLatest(Base):
    __tablename__ = "condainfra_mirror_latest"

    subdir = sa.Column(sa.String, primary_key=True)
    package = sa.Column(sa.String, primary_key=True)
    version = sa.Column(sa.String, nullable=False)
    build_number = sa.Column(sa.Integer, nullable=False, default=0)


class StackDrift(Base):
    __tablename__ = "condainfra_stack_drift"

    stack = sa.Column(sa.String, primary_key=True)
    creates = sa.Column(sa.Integer, nullable=False, default=0)
    updates = sa.Column(sa.Integer, nullable=False, default=0)
    deletes = sa.Column(sa.Integer, nullable=False, default=0)
    names = sa.Column(sa.Text, nullable=False, default="[]")


class RefreshRun(Base):
    """The last refresh of each source: when, and what was wrong with it (shown on the overview)."""

    __tablename__ = "condainfra_refresh"

    source = sa.Column(sa.String, primary_key=True)
    refreshed_at = sa.Column(sa.DateTime, nullable=False)
    problems = sa.Column(sa.Text, nullable=False, default="[]")


class GrantedRole(Base):
    """A role that sync-users granted. Only these are ever taken away again: a role someone gave
    by hand in Quetz is never touched."""

    __tablename__ = "condainfra_granted_roles"

    channel = sa.Column(sa.String, primary_key=True)
    package = sa.Column(sa.String, primary_key=True)  # "" for a channel role
    login = sa.Column(sa.String, primary_key=True)
    role = sa.Column(sa.String, nullable=False)
    # the role the user had before the grant (given by hand), restored when the grant is withdrawn
    previous_role = sa.Column(sa.String, nullable=True)
