"""The `lms-progress import` and `import-oulad` commands (registered in cli.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from lms_progress.console import (
    DbOption,
    console,
    err,
    fail,
    open_store,
    settings_for,
    store_to_check,
)
from lms_progress.importer.load import Report, Source, StoreUnavailable, import_sources
from lms_progress.importer.oulad import load_oulad, oulad_bytes
from lms_progress.importer.reader import FORMATS, format_of_name
from lms_progress.importer.records import KINDS, kind_of_file
from lms_progress.settings import Settings
from lms_progress.store.organisation import organisation_timezone

# Show a progress bar only when the input is big enough to take a noticeable time.
PROGRESS_FROM_BYTES = 2_000_000

CheckOption = Annotated[
    bool, typer.Option("--check", help="Read and check everything, write nothing.")
]


def import_files(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="CSV or JSON Lines files, one kind of record each.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    kind: Annotated[
        str | None,
        typer.Option(
            help=f"Kind of record in every file ({', '.join(KINDS)}); "
            "by default the start of each file name (completions.csv, enrolments-2024.jsonl).",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv or jsonl; by default the file name's extension."),
    ] = None,
    db: DbOption = None,
    check: CheckOption = False,
) -> None:
    """Import records from CSV or JSON Lines files: all or nothing, and running the same files
    again changes nothing. Columns: docs/import.md."""
    if kind is not None and kind.lower() not in KINDS:
        raise fail(f"unknown --kind {kind!r}: use one of {', '.join(KINDS)}")
    sources = []
    for path in files:
        chosen = KINDS.get(kind.lower()) if kind else kind_of_file(path.name)
        if chosen is None:
            raise fail(
                f"{path}: say which kind of record it holds with --kind "
                f"({', '.join(KINDS)}) or name the file after it (e.g. learners.csv)"
            )
        file_format = fmt.lower() if fmt else format_of_name(path.name)
        if file_format not in FORMATS:
            raise fail(f"{path}: say its format with --format csv or --format jsonl")
        sources.append(
            Source(str(path), chosen, file_format, _opener(path), size=path.stat().st_size)
        )
    settings = settings_for(db)
    with _store_errors(), _store(settings, check) as engine:
        total = sum(source.size or 0 for source in sources)
        with _progress(total, "importing") as advance:
            report = import_sources(
                engine, sources, zone=_zone(settings, engine), progress=advance, dry_run=check
            )
    _print(report, check)


def import_oulad(
    directory: Annotated[
        Path,
        typer.Argument(
            help="Directory with the OULAD CSV files (courses.csv, assessments.csv, "
            "studentRegistration.csv, studentAssessment.csv).",
            exists=True,
            file_okay=False,
        ),
    ],
    db: DbOption = None,
    check: CheckOption = False,
) -> None:
    """Load the Open University Learning Analytics Dataset (CC BY 4.0; Kuzilek, Hlosta and
    Zdrahal, Scientific Data 4, 170171, 2017) into the store. Mapping: docs/import.md."""
    settings = settings_for(db)
    with (
        _store_errors(),
        _store(settings, check) as engine,
        _progress(oulad_bytes(directory), "loading OULAD") as advance,
    ):
        zone = _zone(settings, engine)
        report = load_oulad(engine, directory, zone=zone, progress=advance, dry_run=check)
    _print(report, check)


@contextmanager
def _store(settings: Settings, check: bool) -> Iterator[Engine]:
    if check:
        with store_to_check(settings) as engine:
            yield engine
    else:
        yield open_store(settings)


def _zone(settings: Settings, engine: Engine) -> ZoneInfo:
    """The organisation's time zone: the setting, else the store's."""
    return ZoneInfo(settings.timezone or organisation_timezone(engine))


@contextmanager
def _store_errors() -> Iterator[None]:
    """A store that fails (unreachable, busy, down mid-way) is one line and exit code 1."""
    try:
        yield
    except StoreUnavailable as exc:
        raise fail(str(exc)) from None
    except DBAPIError as exc:
        lines = str(exc.orig).strip().splitlines()
        raise fail(f"the store is unreachable: {lines[0] if lines else exc}") from None


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


@contextmanager
def _progress(total: int, what: str) -> Iterator[Callable[[int], None] | None]:
    if total < PROGRESS_FROM_BYTES or not err.is_terminal:
        yield None
        return
    columns = (f"[bold]{what}[/bold]", BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(what, total=total)
        yield lambda done: progress.advance(task, done)


def _print(report: Report, check: bool) -> None:
    errors = report.sorted_errors()
    for error in errors:
        # Line 0: the store refused the data as a whole (load.run), no row of its own.
        where = f"{error.source}:{error.line}" if error.line else error.source
        err.print(f"[red]{where}[/red]: {error.reason}", soft_wrap=True)
    added = "would be added" if check else "added"
    table = (
        Table("records", "read", "added")
        if errors
        else Table("records", "read", added, "already present")
    )
    for kind, count in report.counts.items():
        if count.read:
            # A failed run added nothing: its good rows were rolled back, and what it would add
            # depends on how the bad rows are fixed. Its notes would describe records not loaded.
            shown = (count.read, 0) if errors else (count.read, count.added, count.present)
            table.add_row(kind, *map(str, shown))
    console.print(table)
    for note in () if errors else report.notes:
        console.print(f"- {note}", soft_wrap=True)
    rows = sum(count.read for count in report.counts.values())
    rate = rows / report.seconds if report.seconds else 0.0
    if errors:
        console.print(
            f"[red]{len(errors)} bad rows: nothing was written.[/red] "
            "Fix them and run the import again."
        )
        raise typer.Exit(code=1)
    if check:
        console.print(
            f"checked {rows} records in {report.seconds:.2f} s: all good, nothing written"
        )
        return
    console.print(
        f"imported in {report.seconds:.2f} s ({rate:,.0f} records/s); "
        f"{report.recounted} enrolments recounted"
    )
