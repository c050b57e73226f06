"""Authenticator secrets sealed to their user's own key: the column holds an envelope in
base64 ("sealed:..."), longer than the 64 characters a clear secret needed. Every secret
stored in the clear is sealed here to its user's current public key (sealing needs no
private key); one without a key to seal to (no password set yet) is dropped, and that user
sets up their authenticator when they first sign in.

Revision ID: 0012_sealed_second_factor
Revises: 0011_case_reasons
Create Date: 2026-11-25 08:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012_sealed_second_factor"
down_revision = "0011_case_reasons"
branch_labels = None
depends_on = None


staff_users = sa.table(
    "staff_users", sa.column("id", sa.Integer), sa.column("totp_secret", sa.Text)
)
staff_keys = sa.table(
    "staff_keys",
    sa.column("user_id", sa.Integer),
    sa.column("suite", sa.String),
    sa.column("public_key", sa.LargeBinary),
    sa.column("retired_at", sa.DateTime),
)
SEALED = "sealed:"


def upgrade():
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=True
        )
    _seal_clear_secrets()


def _seal_clear_secrets():
    """As mediation.services.accounts.store_totp_secret does (same envelope and context)."""
    import base64

    from mediation.vault import PublicKey, seal_text

    connection = op.get_bind()
    clear = connection.execute(
        sa.select(staff_users.c.id, staff_users.c.totp_secret).where(
            staff_users.c.totp_secret.is_not(None), ~staff_users.c.totp_secret.startswith(SEALED)
        )
    ).all()
    for user_id, secret in clear:
        key = connection.execute(
            sa.select(staff_keys.c.suite, staff_keys.c.public_key).where(
                staff_keys.c.user_id == user_id, staff_keys.c.retired_at.is_(None)
            )
        ).first()
        sealed = None
        if key is not None:
            envelope = seal_text(
                secret, PublicKey(key.suite, bytes(key.public_key)), f"staff:{user_id}:second-factor"
            )
            sealed = SEALED + base64.b64encode(envelope).decode("ascii")
        connection.execute(
            sa.update(staff_users).where(staff_users.c.id == user_id).values(totp_secret=sealed)
        )


def downgrade():
    # A sealed secret does not fit back: those users set up their authenticator again.
    op.execute("UPDATE staff_users SET totp_secret = NULL WHERE length(totp_secret) > 64")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.Text(), type_=sa.String(length=64), existing_nullable=True
        )
