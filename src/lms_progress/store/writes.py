"""Helpers shared by the write repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, exists, select

from lms_progress.errors import ApiError, ErrorCode
from lms_progress.ids import is_valid_id, new_id


def insert_new(connection: Connection, table: Table, what: str, values: dict[str, Any]) -> int:
    """Insert a row with the client's id (values["id"]) or a generated one; return the id.
    A duplicate's 409 names the record as `what` ("entity").

    A client id that exists already is a 409, checked before the insert so that the
    transaction stays usable (a failed INSERT would abort it on PostgreSQL).
    """
    given = values.get("id")
    if given is None:
        values = {**values, "id": new_id()}
    elif not is_valid_id(given):
        raise ApiError(ErrorCode.INVALID_PARAMETER, "id must be a positive 64-bit integer")
    elif connection.execute(select(exists().where(table.c.id == given))).scalar():
        raise ApiError(ErrorCode.DUPLICATE_ID, f"{what} {given} already exists")
    connection.execute(table.insert().values(**values))
    return int(values["id"])


def require_row(connection: Connection, table: Table, row_id: int, what: str) -> Any:
    """The row with that id, or a 404 naming `what`."""
    row = connection.execute(select(table).where(table.c.id == row_id)).one_or_none()
    if row is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"{what} {row_id} not found")
    return row
