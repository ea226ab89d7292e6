"""The organisation's own settings, as stored."""

from __future__ import annotations

from sqlalchemy import Engine, select

from lms_progress.store.schema import organisation


def organisation_timezone(engine: Engine) -> str:
    """The time zone stored for the organisation (UTC when none)."""
    with engine.connect() as connection:
        zone = connection.execute(select(organisation.c.timezone)).scalar()
    return zone or "UTC"
