"""`lms-progress progress`: a learner's courses through the client, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from lms_progress.client import CourseProgress, ProgressPage

DEFAULT_URL = "http://127.0.0.1:8000"

# The CSV columns: the wire's keys, identity first.
CSV_COLUMNS = (
    "courseId",
    "courseName",
    "type",
    "courseType",
    "batchId",
    "batchName",
    "enrolledDate",
    "completionStatus",
    "completionPercentage",
    "completedEntitiesCount",
    "totalEntitiesCount",
    "completedIn",
    "completionDate",
    "managerEvaluationTotalMarks",
    "managerEvaluationMarks",
)


def progress(
    learner_id: Annotated[int, typer.Argument(help="The learner's id.", show_default=False)],
    url: Annotated[
        str, typer.Option(envvar="LMS_PROGRESS_URL", help="Base URL of an lms-progress server.")
    ] = DEFAULT_URL,
    zoho: Annotated[
        str | None,
        typer.Option(
            help="Ask Zoho People in this data centre (com, eu, in, com.au, jp, com.cn, sa) "
            "instead of --url.",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="LMS_PROGRESS_TOKEN", help="Access token.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the API's rows).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (the API's rows).")] = False,
    wait: Annotated[
        bool, typer.Option(help="Wait out a rate-limit lock (with a spinner), or fail at once.")
    ] = True,
) -> None:
    """Show a learner's progress in all their courses."""
    from lms_progress.client import Client, LmsProgressError, RateLimited

    err = Console(stderr=True, highlight=False)
    if as_json and as_csv:
        raise _fail(err, "choose one of --json and --csv")
    if not token:
        raise _fail(err, "no token: pass --token or set LMS_PROGRESS_TOKEN")
    try:
        with Client(
            None if zoho else url,
            data_centre=zoho,
            token=token,
            on_rate_limit="wait" if wait else "raise",
            wait_lock=_waiting_with_spinner(err),
        ) as client:
            pages = list(client.iter_learner_progress_pages(learner_id))
    except RateLimited as exc:
        raise _fail(err, f"{exc} (locked; retry in {math.ceil(exc.retry_after)} s)") from None
    except (LmsProgressError, ValueError) as exc:
        raise _fail(err, str(exc)) from None
    rows = [row for page in pages for row in page.course_progress]
    if as_json:
        typer.echo(orjson.dumps(_merged(pages[0], rows), option=orjson.OPT_INDENT_2).decode())
    elif as_csv:
        typer.echo(_csv(rows), nl=False)
    else:
        Console(highlight=False).print(_table(pages[0], rows))


def _fail(err: Console, message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True)
    return typer.Exit(code=1)


def _waiting_with_spinner(err: Console) -> Callable[[float], None]:
    def wait(seconds: float) -> None:
        if not err.is_terminal:
            err.print(f"rate limit lock: waiting {math.ceil(seconds)} s")
            time.sleep(seconds)
            return
        deadline = time.monotonic() + seconds
        with err.status("rate limit lock") as status:
            while (left := deadline - time.monotonic()) > 0:
                status.update(f"rate limit lock: retrying in {math.ceil(left)} s")
                time.sleep(min(0.2, left))

    return wait


def _merged(first: ProgressPage, rows: list[CourseProgress]) -> dict[str, Any]:
    """The learner's envelope with the rows of every page."""
    return {
        "learnerId": first.raw.get("learnerId", str(first.learner_id)),
        "learnerName": first.learner_name,
        "learnerImageURL": first.learner_image_url or "",
        "courseProgress": [row.raw for row in rows],
    }


def _csv(rows: list[CourseProgress]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([row.raw.get(column, "") for column in CSV_COLUMNS])
    return out.getvalue()


def _table(first: ProgressPage, rows: list[CourseProgress]) -> Table:
    table = Table(
        title=f"{first.learner_name} ({first.learner_id})",
        caption=f"{len(rows)} course{'' if len(rows) == 1 else 's'}",
    )
    table.add_column("Course", overflow="fold", ratio=1)
    table.add_column("Enrolled", no_wrap=True)
    table.add_column("Progress", no_wrap=True)
    table.add_column("Done", justify="right", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    for row in rows:
        course = Text(row.course_name)
        kind = " · ".join(part for part in (row.course_type, row.batch_name) if part)
        course.append(f"\n{kind}", style="dim")
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            ProgressBar(total=100, completed=row.completion_percentage, width=10),
            Text(f"{row.completion_percentage:>3}%"),
        )
        status = Text(row.completion_status)
        if row.completion_date is not None:
            status.append(f"\n{_day(row.completion_date)}", style="dim")
        table.add_row(
            course,
            _day(row.enrolled_date),
            bar,
            f"{row.completed_entities_count}/{row.total_entities_count}",
            status,
        )
    return table


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""
