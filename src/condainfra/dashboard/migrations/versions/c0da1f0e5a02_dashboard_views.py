"""condainfra dashboard: package state, attention history, snoozes, migrations, GitHub activity

Revision ID: c0da1f0e5a02
Revises: c0da1f0e5a01
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "c0da1f0e5a02"
down_revision = "c0da1f0e5a01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "condainfra_package_state",
        sa.Column("channel", sa.String(), primary_key=True),
        sa.Column("package", sa.String(), primary_key=True),
        sa.Column("feedstock", sa.String(), nullable=True),
        sa.Column("latest_version", sa.String(), nullable=True),
        sa.Column("upstream_version", sa.String(), nullable=True),
        sa.Column("downloads_total", sa.BigInteger(), nullable=False),
        sa.Column("downloads_30d", sa.BigInteger(), nullable=False),
        sa.Column("last_upload", sa.DateTime(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("kinds", sa.String(), nullable=False),
    )
    op.create_index("ix_condainfra_package_state_feedstock", "condainfra_package_state", ["feedstock"])
    op.create_table(
        "condainfra_attention",
        sa.Column("channel", sa.String(), primary_key=True),
        sa.Column("package", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(), primary_key=True),
        sa.Column("subject", sa.String(), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("link", sa.String(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_condainfra_attention_package", "condainfra_attention", ["package"])
    op.create_index("ix_condainfra_attention_resolved_at", "condainfra_attention", ["resolved_at"])
    op.create_table(
        "condainfra_snoozes",
        sa.Column("login", sa.String(), primary_key=True),
        sa.Column("channel", sa.String(), primary_key=True),
        sa.Column("package", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(), primary_key=True),
        sa.Column("subject", sa.String(), primary_key=True),
        sa.Column("until", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "condainfra_migrations",
        sa.Column("migration", sa.String(), primary_key=True),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in ("total", "done", "in_pr", "awaiting_pr", "awaiting_parents", "failed")),
    )
    op.create_table(
        "condainfra_github_activity",
        sa.Column("org", sa.String(), primary_key=True),
        sa.Column("feedstock", sa.String(), primary_key=True),
        sa.Column("open_prs", sa.Integer(), nullable=True),
        sa.Column("open_issues", sa.Integer(), nullable=True),
        sa.Column("default_branch", sa.String(), nullable=True),
        sa.Column("ci_state", sa.String(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("etags", sa.Text(), nullable=False),
    )
    op.create_index("ix_condainfra_github_activity_checked_at", "condainfra_github_activity", ["checked_at"])
    op.create_table(
        "condainfra_summary",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_index("ix_condainfra_package_state_package", "condainfra_package_state", ["package"])
    # a page finds a maintainer's packages through their feedstocks' outputs, and their package roles by user
    op.create_index("ix_condainfra_feedstock_outputs_feedstock", "condainfra_feedstock_outputs", ["feedstock"])
    op.create_index("ix_condainfra_package_members_user", "package_members", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_condainfra_package_members_user", "package_members")
    op.drop_index("ix_condainfra_feedstock_outputs_feedstock", "condainfra_feedstock_outputs")
    for table in ("condainfra_summary", "condainfra_github_activity", "condainfra_migrations", "condainfra_snoozes", "condainfra_attention",
                  "condainfra_package_state"):
        op.drop_table(table)
