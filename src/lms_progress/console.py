"""What the commands share: consoles, the one-line failure, settings, and opening the store.

A command that cannot go on says why in one line on stderr and exits with 1: never a traceback
for a bad setting, an unreachable store or an old schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from lms_progress.settings import Settings
from lms_progress.store import migrate
from lms_progress.store.engine import make_engine

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="SQLite file to use instead of LMS_PROGRESS_DATABASE_URL.",
        dir_okay=False,
    ),
]


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", soft_wrap=True)
    return typer.Exit(code=1)


def settings_for(db: Path | None) -> Settings:
    """The settings from the environment, with `--db` in place of the database URL."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"LMS_PROGRESS_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise fail(f"bad setting: {problems}") from None
    if db is not None:
        settings = settings.model_copy(update={"database_url": f"sqlite:///{db}"})
    return settings


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn an unreachable store into the one-line failure."""
    try:
        yield
    except OperationalError as exc:
        raise fail(f"cannot reach the store: {exc.orig}") from None


def open_store(settings: Settings) -> Engine:
    """An engine on an up-to-date schema: SQLite is migrated here, a server store must have been
    migrated by its operator (`lms-progress db upgrade`)."""
    engine = make_engine(settings.database_url)
    with store_errors():
        if settings.is_sqlite:
            migrate.upgrade(engine)
        elif not migrate.is_up_to_date(engine):
            raise fail("the database schema is not up to date: run `lms-progress db upgrade`")
    return engine
