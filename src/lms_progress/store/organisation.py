"""The organisation's own settings, as stored."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select, update

from lms_progress.store.schema import organisation


def organisation_timezone(engine: Engine) -> str:
    """The time zone stored for the organisation (UTC when none)."""
    with engine.connect() as connection:
        zone = connection.execute(select(organisation.c.timezone)).scalar()
    return zone or "UTC"


def set_organisation_timezone(engine: Engine, zone: str) -> None:
    """Store the organisation's time zone (an IANA name, checked by the caller)."""
    with engine.begin() as connection:
        changed = connection.execute(update(organisation).values(timezone=zone)).rowcount
        if not changed:
            connection.execute(insert(organisation).values(id=1, timezone=zone))
