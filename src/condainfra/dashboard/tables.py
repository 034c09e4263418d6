"""The plugin's own tables (Quetz's ``quetz.models`` entry point). They hold the signals that
come from outside Quetz, written by the refresh job, so that no page request waits on the network.
Created by the alembic migration in ``migrations/versions``."""

from __future__ import annotations

from collections import Counter

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
    feedstock = sa.Column(sa.String, nullable=False, index=True)


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


# --- written by the refresh job for the pages (migration c0da1f0e5a02) --------------------------

class PackageState(Base):
    """One package as the last refresh saw it: what a maintainer page sorts, filters and pages on
    without reading every version of every package at request time."""

    __tablename__ = "condainfra_package_state"

    channel = sa.Column(sa.String, primary_key=True)
    package = sa.Column(sa.String, primary_key=True, index=True)
    feedstock = sa.Column(sa.String, nullable=True, index=True)
    latest_version = sa.Column(sa.String, nullable=True)
    upstream_version = sa.Column(sa.String, nullable=True)
    downloads_total = sa.Column(sa.BigInteger, nullable=False, default=0)
    downloads_30d = sa.Column(sa.BigInteger, nullable=False, default=0)
    last_upload = sa.Column(sa.DateTime, nullable=True)
    score = sa.Column(sa.Float, nullable=False, default=0.0)  # the package's most urgent item, 0 when none
    kinds = sa.Column(sa.String, nullable=False, default="")  # its attention kinds, space-separated


class AttentionRecord(Base):
    """An attention item with its history: when it was first seen, and when it ended. Ended items
    stay a while (shown as resolved) before the refresh forgets them."""

    __tablename__ = "condainfra_attention"

    channel = sa.Column(sa.String, primary_key=True)
    package = sa.Column(sa.String, primary_key=True, index=True)
    kind = sa.Column(sa.String, primary_key=True)
    subject = sa.Column(sa.String, primary_key=True, default="")  # the migration, for migration items
    reason = sa.Column(sa.Text, nullable=False)
    score = sa.Column(sa.Float, nullable=False)
    link = sa.Column(sa.String, nullable=False)
    first_seen = sa.Column(sa.DateTime, nullable=False)
    changed_at = sa.Column(sa.DateTime, nullable=False)  # the last time its reason changed (the feed's <updated>)
    resolved_at = sa.Column(sa.DateTime, nullable=True, index=True)


class Snooze(Base):
    """A maintainer hid one of their items until ``until``: it leaves their queue and feed only."""

    __tablename__ = "condainfra_snoozes"

    login = sa.Column(sa.String, primary_key=True)
    channel = sa.Column(sa.String, primary_key=True)
    package = sa.Column(sa.String, primary_key=True)
    kind = sa.Column(sa.String, primary_key=True)
    subject = sa.Column(sa.String, primary_key=True, default="")
    until = sa.Column(sa.DateTime, nullable=False)


class MigrationProgress(Base):
    """One bot migration across the whole org: how far it is, and how many feedstocks still wait."""

    __tablename__ = "condainfra_migrations"

    migration = sa.Column(sa.String, primary_key=True)
    total = sa.Column(sa.Integer, nullable=False, default=0)
    done = sa.Column(sa.Integer, nullable=False, default=0)
    in_pr = sa.Column(sa.Integer, nullable=False, default=0)
    awaiting_pr = sa.Column(sa.Integer, nullable=False, default=0)
    awaiting_parents = sa.Column(sa.Integer, nullable=False, default=0)
    failed = sa.Column(sa.Integer, nullable=False, default=0)  # bot-error and not-solvable


class GithubActivity(Base):
    """A feedstock repository on GitHub, as the periodic job last read it (never a page request)."""

    __tablename__ = "condainfra_github_activity"

    org = sa.Column(sa.String, primary_key=True)
    feedstock = sa.Column(sa.String, primary_key=True)
    open_prs = sa.Column(sa.Integer, nullable=True)
    open_issues = sa.Column(sa.Integer, nullable=True)
    default_branch = sa.Column(sa.String, nullable=True)
    ci_state = sa.Column(sa.String, nullable=True)  # success | failure | pending | none
    checked_at = sa.Column(sa.DateTime, nullable=True, index=True)
    etags = sa.Column(sa.Text, nullable=False, default="{}")  # request path -> (ETag, the answer it stood for)


class Summary(Base):
    """Org-wide numbers the refresh computes once, so that the overview is a few small reads."""

    __tablename__ = "condainfra_summary"

    name = sa.Column(sa.String, primary_key=True)
    value = sa.Column(sa.Text, nullable=False, default="{}")


# --- writing a refresh's rows -------------------------------------------------------------------

def replace_rows(db, table, rows: list[dict]) -> int:
    """Make ``table`` hold exactly ``rows`` (one per primary key), writing only the difference: a refresh
    recomputes tens of thousands of rows of which few change, and rewriting them all was most of its
    database time. Columns a row leaves out take their scalar default. Returns the rows written."""
    t = table.__table__
    key = [c.name for c in t.primary_key.columns]
    columns = key + [c.name for c in t.columns if c.name not in key]
    defaults = {c.name: c.default.arg for c in t.columns if c.default is not None and c.default.is_scalar}
    # rows are written as whole tuples: a column whose default is computed, left out, would be written NULL
    computed = [c.name for c in t.columns if (c.default is not None and not c.default.is_scalar) or c.server_default is not None]
    left_out = sorted({c for c in computed for row in rows if c not in row})
    if left_out:
        raise TypeError(f"replace_rows({t.name}): a row leaves out {left_out}, whose default is computed; give it in every row")
    wanted = {}
    for row in rows:
        values = tuple(row[c] if c in row else defaults.get(c) for c in columns)
        wanted[values[:len(key)]] = values
    db.flush()  # the session's pending changes first, as its own execute() would: the rows are read on its connection
    conn = db.connection()
    have = {values[:len(key)]: values for values in map(tuple, conn.execute(sa.select(*(t.c[c] for c in columns))))}
    match = sa.and_(*(t.c[k] == sa.bindparam(f"key_{k}") for k in key))

    def keyed(values):
        return {f"key_{k}": v for k, v in zip(key, values)}

    gone = [keyed(k) for k in have.keys() - wanted.keys()]
    new = [dict(zip(columns, wanted[k])) for k in wanted.keys() - have.keys()]
    changed = [keyed(k) | {f"new_{c}": value for c, value in zip(columns[len(key):], v[len(key):])} for k, v in wanted.items() if k in have and have[k] != v]
    if gone:
        conn.execute(sa.delete(t).where(match), gone)
    if changed:
        conn.execute(sa.update(t).where(match).values({c: sa.bindparam(f"new_{c}") for c in columns[len(key):]}), changed)
    if new:
        conn.execute(t.insert(), new)
    return len(gone) + len(changed) + len(new)


def replace_all_if_changed(db, table, rows: list[dict]) -> bool:
    """``replace_rows`` for a table whose rows have no key but a generated id: compared as a whole
    (a multiset of rows, the id aside) and, when it differs, rewritten in bulk. Returns whether it was."""
    t = table.__table__
    columns = [c for c in t.columns if not c.primary_key]
    db.flush()  # as in replace_rows: read on the session's connection
    have = Counter(map(tuple, db.connection().execute(sa.select(*columns))))
    if have == Counter(tuple(row[c.name] for c in columns) for row in rows):
        return False
    db.execute(sa.delete(t))
    if rows:
        db.execute(t.insert(), rows)
    return True
