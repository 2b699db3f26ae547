"""atom size target

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("atom", schema=None) as batch_op:
        # Atoms planned before this revision get the plan schema's default of ten lines.
        batch_op.add_column(
            sa.Column("size_target", sa.Integer(), nullable=False, server_default=sa.text("10"))
        )


def downgrade() -> None:
    with op.batch_alter_table("atom", schema=None) as batch_op:
        batch_op.drop_column("size_target")
