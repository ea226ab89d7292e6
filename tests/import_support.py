"""Helpers shared by the import tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from lms_progress.store.schema import metadata


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: equal dumps, equal stores."""
    with engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for table in metadata.sorted_tables
        }
