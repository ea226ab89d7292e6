"""What the commands share: consoles, the one-line failure, settings, and opening the store.

A command that cannot go on says why in one line on stderr and exits with 1: never a traceback
for a bad setting, an unreachable store or an old schema.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import Engine, create_engine, make_url
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


@contextmanager
def store_to_check(settings: Settings) -> Iterator[Engine]:
    """The store a check (`import --check`) reads, never created nor migrated: a check writes
    nothing. A SQLite store that does not exist yet is checked as the empty store a real import
    would create: a temporary one, removed afterwards."""
    path = make_url(settings.database_url).database if settings.is_sqlite else None
    if path is not None and (path in ("", ":memory:") or not Path(path).exists()):
        console.print(f"{path or 'the store'} does not exist yet: checked against an empty store")
        with tempfile.TemporaryDirectory(prefix="lms-progress-check-") as directory:
            engine = make_engine(f"sqlite:///{directory}/empty.db")
            try:
                migrate.upgrade(engine)
                yield engine
            finally:
                engine.dispose()
        return
    engine = make_engine(settings.database_url)
    try:
        with store_errors():
            current = _sqlite_up_to_date(path) if path else migrate.is_up_to_date(engine)
        if not current:
            raise fail(
                "the database schema is not up to date: run `lms-progress db upgrade` "
                "(a check writes nothing, not even the schema)"
            )
        yield engine
    finally:
        engine.dispose()


def _sqlite_up_to_date(path: str) -> bool:
    """Whether a SQLite file holds the newest schema, asked read-only: a connection of
    `make_engine` switches the file to WAL, which writes to it."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    try:
        return migrate.is_up_to_date(engine)
    finally:
        engine.dispose()


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
