"""The `lms-progress` command line."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from lms_progress import __version__, progress_view
from lms_progress.auth.tokens import Operation, create_token, ensure_user, revoke_token
from lms_progress.console import DbOption, console, fail, open_store, settings_for, store_errors
from lms_progress.importer import command as importer_command
from lms_progress.settings import known_zone
from lms_progress.store import migrate
from lms_progress.store.engine import make_engine
from lms_progress.store.organisation import organisation_timezone, set_organisation_timezone

app = typer.Typer(
    help="lms-progress: learner progress, wire-compatible with Zoho People's LMS API.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
org_app = typer.Typer(help="The organisation's settings.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(org_app, name="org")
app.command("progress")(progress_view.progress)
app.command("import")(importer_command.import_files)
app.command("import-oulad")(importer_command.import_oulad)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


@app.command()
def serve(
    demo: Annotated[
        bool,
        typer.Option(help="Load the demo data into a fresh SQLite file; print a curl line."),
    ] = False,
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    access_log: Annotated[
        bool | None, typer.Option(help="Log every request (default: LMS_PROGRESS_ACCESS_LOG).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(min=1, help="Server processes; more than one needs LMS_PROGRESS_REDIS_URL."),
    ] = 1,
) -> None:
    """Run the API server. An embedded SQLite store is brought up to date first."""
    import uvicorn

    from lms_progress import demo as demo_data
    from lms_progress.http.server import EnvelopeHttpToolsProtocol

    scratch: Path | None = None  # a demo store of our own, removed when the server stops
    if demo and db is None:
        scratch = Path(tempfile.mkdtemp(prefix="lms-progress-demo-"))
        db = scratch / "demo.db"
    settings = settings_for(db)
    if workers > 1 and not settings.redis_url:
        # Each process would keep its own count, and the limit would be `workers` times too high.
        raise fail(
            "--workers above 1 needs a rate limit shared by the processes: "
            "set LMS_PROGRESS_REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
        )
    engine = open_store(settings)
    if demo:
        now = int(time.time())
        with engine.begin() as connection:
            loaded = demo_data.load(connection)
            token = demo_data.read_token(connection, now)
        where = "loaded into" if loaded else "already in"
        kept = " (removed when the server stops; --db PATH keeps it)" if scratch else ""
        console.print(f"Demo data {where} [bold]{db}[/bold]{kept}", soft_wrap=True)
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        console.print("Try it:\n")
        console.print(
            f"curl -s -H 'Authorization: Zoho-oauthtoken {token}' "
            f"http://{shown_host}:{port}/api/v1/learners/{demo_data.LEARNER_ID}/course-progress",
            soft_wrap=True,
        )
        console.print()
    engine.dispose()
    # The server process reads its settings from the environment, like any deployment.
    os.environ["LMS_PROGRESS_DATABASE_URL"] = settings.database_url
    with removed_when_stopped(scratch):
        uvicorn.run(
            "lms_progress.app:factory",
            factory=True,
            host=host,
            port=port,
            access_log=settings.access_log if access_log is None else access_log,
            log_level="info",
            workers=workers,
            http=EnvelopeHttpToolsProtocol,
        )


@contextmanager
def removed_when_stopped(scratch: Path | None) -> Iterator[None]:
    """Remove `scratch` when the server stops, by Ctrl-C or by SIGTERM (systemd, docker stop,
    kill). uvicorn shuts down, then raises the signal again with the handler it found: for
    SIGTERM the default one would end the process without running any `finally`."""
    if scratch is None:
        yield
        return

    def on_term(signum: int, _frame: object) -> None:
        shutil.rmtree(scratch, ignore_errors=True)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)  # end as a SIGTERM'd process does

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(scratch, ignore_errors=True)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create or migrate the schema to the newest version."""
    engine = make_engine(settings_for(db).database_url)
    with store_errors():
        migrate.upgrade(engine)
        console.print(f"schema at revision {migrate.current_revision(engine)}")


@db_app.command("current")
def db_current(db: DbOption = None) -> None:
    """Show the schema revision of the database, and whether it is the newest."""
    engine = make_engine(settings_for(db).database_url)
    with store_errors():
        current = migrate.current_revision(engine)
    state = "up to date" if current == migrate.head_revision() else "needs `db upgrade`"
    console.print(f"{current or 'empty'} ({state})")


@org_app.command("timezone")
def org_timezone(
    zone: Annotated[
        str | None,
        typer.Argument(help="IANA time zone to store, e.g. Asia/Kolkata; without it, show it."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Show or set the organisation's time zone, in which every date is shown and counted.
    LMS_PROGRESS_TIMEZONE, when set, wins over it; a running server reads it when it starts."""
    settings = settings_for(db)
    engine = open_store(settings)
    with store_errors():
        if zone is not None:
            try:
                known_zone(zone)
            except ValueError as exc:
                raise fail(f"{exc} (IANA names, e.g. Europe/Paris)") from None
            set_organisation_timezone(engine, zone)
        stored = organisation_timezone(engine)
    console.print(f"organisation time zone: {stored}")
    if settings.timezone and settings.timezone != stored:
        console.print(f"(LMS_PROGRESS_TIMEZONE={settings.timezone} is set and wins over it)")


@token_app.command("create")
def token_create(
    user: Annotated[int, typer.Option(help="API user id; created when it does not exist.")],
    scope: Annotated[
        list[str],
        typer.Option(help="READ, CREATE, UPDATE, DELETE or ALL (or ZOHOPEOPLE.training.READ)."),
    ],
    name: Annotated[str, typer.Option(help="Name for a new API user.")] = "",
    expires_in: Annotated[
        int | None, typer.Option(help="Seconds until the token expires (default: never).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Create a token and print it. Only its hash is stored: keep it now."""
    try:
        operations = {Operation.parse(s) for s in scope}
    except ValueError as exc:
        raise fail(str(exc)) from None
    if user <= 0 or user >= 2**63:
        raise fail("--user must be a positive 64-bit integer")
    if expires_in is not None and expires_in <= 0:
        raise fail("--expires-in must be positive")
    engine = open_store(settings_for(db))
    now = int(time.time())
    with store_errors(), engine.begin() as connection:
        user_id = ensure_user(connection, user, name or f"API user {user}", now)
        token = create_token(
            connection,
            user_id=user_id,
            operations=operations,
            now=now,
            expires_at=now + expires_in if expires_in else None,
        )
    console.print(token)


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="The token to revoke.")],
    db: DbOption = None,
) -> None:
    """Revoke a token: calls with it get 401 (within LMS_PROGRESS_TOKEN_CACHE_SECONDS)."""
    engine = open_store(settings_for(db))
    with store_errors(), engine.begin() as connection:
        revoked = revoke_token(connection, token.strip(), int(time.time()))
    if not revoked:
        raise fail("no such active token")
    console.print("revoked")
