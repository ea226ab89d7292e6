"""Alembic environment. Run through `lms-progress db upgrade` (store/migrate.py), which passes
the connection in; plain `alembic` is not needed."""

from __future__ import annotations

from alembic import context

from lms_progress.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs plain `alembic`
    raise RuntimeError("run migrations with `lms-progress db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
