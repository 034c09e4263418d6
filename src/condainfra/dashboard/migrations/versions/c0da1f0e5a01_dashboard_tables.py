"""condainfra dashboard tables

Revision ID: c0da1f0e5a01
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "c0da1f0e5a01"
down_revision = None
branch_labels = ("condainfra_dashboard",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "condainfra_feedstocks",
        sa.Column("org", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("stack", sa.String(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "condainfra_feedstock_outputs",
        sa.Column("package", sa.String(), primary_key=True),
        sa.Column("org", sa.String(), nullable=False),
        sa.Column("feedstock", sa.String(), nullable=False),
    )
    op.create_table(
        "condainfra_feedstock_maintainers",
        sa.Column("org", sa.String(), primary_key=True),
        sa.Column("feedstock", sa.String(), primary_key=True),
        sa.Column("login", sa.String(), primary_key=True),
        sa.Column("via_team", sa.String(), nullable=False),
    )
    op.create_index("ix_condainfra_feedstock_maintainers_login", "condainfra_feedstock_maintainers", ["login"])
    op.create_table(
        "condainfra_bot_signals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("feedstock", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("migration", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("descendants", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Float(), nullable=False),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_condainfra_bot_signals_feedstock", "condainfra_bot_signals", ["feedstock"])
    op.create_table(
        "condainfra_mirror_latest",
        sa.Column("subdir", sa.String(), primary_key=True),
        sa.Column("package", sa.String(), primary_key=True),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("build_number", sa.Integer(), nullable=False),
    )
    op.create_table(
        "condainfra_stack_drift",
        sa.Column("stack", sa.String(), primary_key=True),
        sa.Column("creates", sa.Integer(), nullable=False),
        sa.Column("updates", sa.Integer(), nullable=False),
        sa.Column("deletes", sa.Integer(), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
    )
    op.create_table(
        "condainfra_refresh",
        sa.Column("source", sa.String(), primary_key=True),
        sa.Column("refreshed_at", sa.DateTime(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
    )
    op.create_table(
        "condainfra_granted_roles",
        sa.Column("channel", sa.String(), primary_key=True),
        sa.Column("package", sa.String(), primary_key=True),
        sa.Column("login", sa.String(), primary_key=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("previous_role", sa.String(), nullable=True),
    )


def downgrade() -> None:
    for table in ("condainfra_granted_roles", "condainfra_refresh", "condainfra_stack_drift", "condainfra_mirror_latest", "condainfra_bot_signals",
                  "condainfra_feedstock_maintainers", "condainfra_feedstock_outputs", "condainfra_feedstocks"):
        op.drop_table(table)
