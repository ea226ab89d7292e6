"""The import refuses exactly what the write API refuses, on both stores.

Each bad value is a named bad row (file, line, column, reason) over HTTP and from the command;
`--check` gives the same answer as the real run; nothing is written. A store error that the checks
do not foresee is a clean answer too: a bad row (422) or 503, one line from the command.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient
from typer.testing import CliRunner

from lms_progress.app import create_app
from lms_progress.auth.tokens import Operation
from lms_progress.cli import app as cli
from lms_progress.settings import Settings
from lms_progress.validation import EMAIL_MAX, NAME_MAX, POSITION_MAX, TEXT_MAX, URL_MAX
from tests.conftest import FakeClock, auth, new_token
from tests.import_support import dump

runner = CliRunner()

# The store every case starts from: a learner enrolled in a self-paced course with one entity.
SETUP = {
    "learners": "id,name\n7001,Ada\n",
    "courses": "id,name,type\n8001,Course,1\n",
    "modules": "id,course_id,name\n8201,8001,Module\n",
    "entities": (
        "id,module_id,entity_type,name,max_marks\n"
        "8301,8201,3,Reading,\n8302,8201,3,Video,\n8303,8201,2,Assignment,10\n"
    ),
    "enrolments": "learner_id,course_id,enrolled_at\n7001,8001,2024-01-01\n",
}


@dataclass(frozen=True)
class Case:
    kind: str
    good: dict[str, Any]  # a good row first, so that the bad one is line 3 of a CSV file
    bad: dict[str, Any]  # (under the header) or line 2 of a JSON Lines file
    column: str
    reason: str  # how the reason goes on after the column's name

    def rows(self) -> list[dict[str, Any]]:
        return [self.good, self.bad]


def _learner(**values: Any) -> dict[str, Any]:
    return {"id": 7101, "name": "Grace", "email": None, **values}


def _course(**values: Any) -> dict[str, Any]:
    return {"id": 8101, "name": "Other course", "type": 1, "description": None, **values}


def _completion(**values: Any) -> dict[str, Any]:
    return {
        "learner_id": 7001,
        "entity_id": 8302,
        "completed_at": "2024-01-02",
        "score": None,
        **values,
    }


CASES = {
    "learner name with NUL": Case(
        "learners", _learner(id=7102), _learner(name="Ada\x00Lovelace"), "name", "contains a NUL"
    ),
    "learner email with NUL": Case(
        "learners",
        _learner(id=7102),
        _learner(email="ada\x00@example.org"),
        "email",
        "contains a NUL",
    ),
    "learner email of 400 characters": Case(
        "learners",
        _learner(id=7102),
        _learner(email="a" * 388 + "@example.org"),
        "email",
        f"is longer than {EMAIL_MAX} characters",
    ),
    "learner name of 300 characters": Case(
        "learners",
        _learner(id=7102),
        _learner(name="A" * 300),
        "name",
        f"is longer than {NAME_MAX} characters",
    ),
    "course name of 1,000 characters": Case(
        "courses",
        _course(id=8102),
        _course(name="C" * 1000),
        "name",
        f"is longer than {NAME_MAX} characters",
    ),
    "course description of 20,000 characters": Case(
        "courses",
        _course(id=8102),
        _course(description="d" * 20_000),
        "description",
        f"is longer than {TEXT_MAX} characters",
    ),
    "course name with NUL": Case(
        "courses", _course(id=8102), _course(name="\x00"), "name", "contains a NUL"
    ),
    "module position beyond an integer": Case(
        "modules",
        {"id": 8202, "course_id": 8001, "name": "M", "position": 1},
        {"id": 8203, "course_id": 8001, "name": "M", "position": 2**40},
        "position",
        f"must be between 0 and {POSITION_MAX}",
    ),
    "completion in 2099": Case(
        "completions",
        _completion(),
        _completion(entity_id=8301, completed_at="2099-01-01"),
        "completed_at",
        "must not be in the future",
    ),
    "completion at -5 seconds": Case(
        "completions",
        _completion(),
        _completion(entity_id=8301, completed_at=-5),
        "completed_at",
        "must not be before 1970-01-01T00:00:00Z",
    ),
    "completion a second before the epoch": Case(
        "completions",
        _completion(),
        _completion(entity_id=8301, completed_at="1970-01-01T04:59:59+05:00"),
        "completed_at",
        "must not be before 1970-01-01T00:00:00Z",
    ),
    "completion in 1969": Case(
        "completions",
        _completion(),
        _completion(entity_id=8301, completed_at="1969-12-31"),
        "completed_at",
        "must not be before 1970-01-01T00:00:00Z",
    ),
    "completion on 31 February": Case(
        "completions",
        _completion(),
        _completion(entity_id=8301, completed_at="31-02-2023"),
        "completed_at",
        "must be a date (25-12-2023 or 2023-12-25)",
    ),
    "eight digits that are not a date YYYYMMDD": Case(
        "completions",
        _completion(),
        _completion(entity_id=8301, completed_at="20241340"),
        "completed_at",
        "eight digits are read as a date YYYYMMDD",
    ),
    "eight digits with leading zeros": Case(
        "completions",
        _completion(),
        _completion(entity_id=8301, completed_at="00000000"),
        "completed_at",
        "eight digits are read as a date YYYYMMDD",
    ),
    "seconds written short": Case(
        "completions",
        _completion(),
        _completion(entity_id=8301, completed_at=9999999),
        "completed_at",
        "seconds from the epoch have at least nine digits",
    ),
    "an ordinal date": Case(
        "completions",
        _completion(),
        _completion(entity_id=8301, completed_at="2023359"),
        "completed_at",
        "seconds from the epoch have at least nine digits",
    ),
    "score above the maximum marks": Case(
        "completions",
        _completion(entity_id=8303, score=10),
        _completion(learner_id=7001, entity_id=8303, completed_at="2024-01-03", score="10.5"),
        "score",
        "10.5 is above the maximum marks of entity 8303 (10)",
    ),
    "score too long": Case(
        "completions",
        _completion(),
        _completion(entity_id=8301, score="0" * 40 + "1"),
        "score",
        "is too long",
    ),
}


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def as_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(orjson.dumps(row).decode() + "\n" for row in rows)


BODIES = {"csv": as_csv, "jsonl": as_jsonl}
BAD_LINE = {"csv": 3, "jsonl": 2}
MEDIA = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


@pytest.fixture
def headers(engine: Engine) -> dict[str, str]:
    return auth(new_token(engine, Operation.ALL))


@pytest.fixture
def store(client: TestClient, engine: Engine, headers: dict[str, str]) -> Engine:
    for kind, body in SETUP.items():
        result = post(client, kind, body, "csv", headers)
        assert result["http"] == 200, result
    return engine


def post(
    client: TestClient, kind: str, body: str, fmt: str, headers: dict[str, str], **params: str
) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/import/{kind}",
        content=body.encode(),
        headers={**headers, "Content-Type": MEDIA[fmt]},
        params=params,
    )
    result: dict[str, Any] = response.json()
    result["http"] = response.status_code
    return result


def run_import(settings: Settings, *args: Any) -> Any:
    env = {"LMS_PROGRESS_DATABASE_URL": settings.database_url}
    return runner.invoke(cli, ["import", *map(str, args)], env=env)


def flat(output: str) -> str:
    return " ".join(output.split())


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("name", list(CASES))
def test_http_refuses_the_row_writes_nothing_and_check_agrees(
    client: TestClient, store: Engine, headers: dict[str, str], name: str, fmt: str
) -> None:
    case = CASES[name]
    body = BODIES[fmt](case.rows())
    before = dump(store)
    answers = [
        post(client, case.kind, body, fmt, headers),
        post(client, case.kind, body, fmt, headers, check="true"),
    ]
    for answer in answers:
        assert (answer["http"], answer["code"]) == (422, 7221), answer
        assert answer["message"] == "1 bad rows: nothing was written"
        [error] = answer["errors"]
        assert (error["file"], error["line"]) == (f"body ({case.kind})", BAD_LINE[fmt])
        assert error["reason"].startswith(f"{case.column} {case.reason}"), error
        # A long value is quoted, not repeated in full.
        assert len(error["reason"]) < 200
    assert answers[0]["errors"] == answers[1]["errors"]
    assert dump(store) == before
    # Without the bad row the same file imports: the refusal was that value's.
    good = post(client, case.kind, BODIES[fmt]([case.good]), fmt, headers)
    assert good["http"] == 200, good


@pytest.mark.parametrize("name", list(CASES))
def test_the_command_refuses_the_row_in_one_line_and_check_agrees(
    settings: Settings, store: Engine, tmp_path: Path, name: str
) -> None:
    case = CASES[name]
    path = tmp_path / f"{case.kind}.jsonl"
    path.write_text(as_jsonl(case.rows()))
    before = dump(store)
    results = [run_import(settings, path), run_import(settings, "--check", path)]
    for result in results:
        output = flat(result.output)
        assert result.exit_code == 1, output
        assert "Traceback" not in result.output
        assert f"{path}:2: {case.column} {case.reason}" in output
        assert "1 bad rows: nothing was written" in output
    assert dump(store) == before


# The write API call that sets each case's value, and the field it calls it.
def _api_call(case: Case) -> tuple[str, str, dict[str, Any]]:
    value = case.bad[case.column]
    if case.kind == "learners":
        return "/api/v1/learners", "learnerData", {"name": "Grace", case.column: value}
    if case.kind == "courses":
        return "/api/v1/courses", "courseData", {"name": "Other", "type": 1, case.column: value}
    assert case.kind == "completions"
    path = f"/api/v1/learners/7001/entities/{case.bad['entity_id']}/completion"
    if case.column == "completed_at":
        return path, "completionData", {"completedAt": value}
    return path, "completionData", {"completedAt": "2024-01-02T00:00:00Z", "score": value}


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.kind != "modules"])
def test_the_write_api_refuses_the_same_values(
    client: TestClient, store: Engine, headers: dict[str, str], name: str
) -> None:
    path, key, data = _api_call(CASES[name])
    before = dump(store)
    response = client.post(path, json={key: data}, headers=headers)
    assert response.status_code in (400, 422), response.text
    assert dump(store) == before


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("name", "A" * NAME_MAX),
        ("name", "A" * (NAME_MAX + 1)),
        ("name", " "),
        ("name", "tab\tand\nnewline"),
        ("name", "a\x00b"),
        ("email", "e" * (EMAIL_MAX - 12) + "@example.org"),
        ("email", "e" * (EMAIL_MAX - 11) + "@example.org"),
        ("email", ""),
        ("email", "ada"),
        ("email", "ada@example@org"),
        ("email", "ada lovelace@example.org"),
        ("image_url", ""),
        ("image_url", "https://example.org/" + "u" * (URL_MAX - 20)),
        ("image_url", "https://example.org/" + "u" * (URL_MAX - 19)),
        ("image_url", "javascript:alert(1)"),
        ("image_url", "example.org/ada.png"),
    ],
)
def test_import_and_api_take_the_same_learner_values(
    client: TestClient, store: Engine, headers: dict[str, str], column: str, value: str
) -> None:
    """The same value is taken by both or refused by both."""
    api_key = {"image_url": "imageURL"}.get(column, column)
    data = {"name": "Grace", api_key: value}
    api = client.post(
        "/api/v1/learners", json={"learnerData": {**data, "id": 7201}}, headers=headers
    )
    imported = post(
        client,
        "learners",
        as_jsonl([{"id": 7202, "name": "Grace", column: value}]),
        "jsonl",
        headers,
    )
    assert (api.status_code == 200) == (imported["http"] == 200), (api.text, imported)


# -- dates: one reader for the write API and the import -----------------------------------------

KOLKATA = ZoneInfo("Asia/Kolkata")  # the organisation's zone here: not UTC, not a whole hour
DATE_FORMS = {
    "25-12-2023": datetime(2023, 12, 25, tzinfo=KOLKATA),
    "2023-12-25": datetime(2023, 12, 25, tzinfo=KOLKATA),
    "20231225": datetime(2023, 12, 25, tzinfo=KOLKATA),
    20231225: datetime(2023, 12, 25, tzinfo=KOLKATA),
    "2023-12-25T09:30:00Z": datetime(2023, 12, 25, 9, 30, tzinfo=UTC),
    "2023-12-25T09:30:00+05:30": datetime(2023, 12, 25, 4, 0, tzinfo=UTC),
    "2023-12-25T09:30:00": datetime(2023, 12, 25, 9, 30, tzinfo=KOLKATA),
    1703496600: datetime(2023, 12, 25, 9, 30, tzinfo=UTC),
    "1703496600": datetime(2023, 12, 25, 9, 30, tzinfo=UTC),
}


@pytest.fixture
def kolkata(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"timezone": "Asia/Kolkata"}), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.ctx.engine.dispose()


@pytest.mark.parametrize("written", list(DATE_FORMS), ids=repr)
def test_the_write_api_and_the_import_read_every_date_form_alike(
    kolkata: TestClient, written: str | int
) -> None:
    """A date moved between the API and the import needs no reformatting: the same forms, the
    same instant (a day, or a time without an offset, in the organisation's zone)."""
    engine: Engine = kolkata.app.state.ctx.engine
    headers = auth(new_token(engine, Operation.ALL))
    setup = {
        "learners": "id,name\n7001,Ada\n7002,Grace\n",
        "courses": "id,name,type\n8001,Self-paced,1\n8002,Blended,2\n",
    }
    for kind, body in setup.items():
        assert post(kolkata, kind, body, "csv", headers)["http"] == 200
    api = [
        (
            "/api/v1/courses/8001/learners/7001/enrolment",
            {"enrolmentData": {"enrolledAt": written}},
        ),
        (
            "/api/v1/courses/8002/batches",
            {"batchData": {"id": 8101, "name": "B", "startDate": written}},
        ),
    ]
    for path, data in api:
        response = kolkata.post(path, json=data, headers=headers)
        assert response.status_code == 200, response.text
    imported = {
        "enrolments": {"learner_id": 7002, "course_id": 8001, "enrolled_at": written},
        "batches": {"id": 8102, "course_id": 8002, "name": "B", "starts_at": written},
    }
    for kind, row in imported.items():
        result = post(kolkata, kind, as_jsonl([row]), "jsonl", headers)
        assert result["http"] == 200, result
    with engine.connect() as connection:
        enrolled = dict(
            connection.execute(text("SELECT learner_id, enrolled_at FROM enrolments")).all()
        )
        starts = dict(connection.execute(text("SELECT id, starts_at FROM batches")).all())
    expected = int(DATE_FORMS[written].timestamp())
    assert enrolled == {7001: expected, 7002: expected}
    assert starts == {8101: expected, 8102: expected}


# -- errors of the store itself ------------------------------------------------------------------


def add_trigger(engine: Engine, sqlite: str, postgresql: str) -> None:
    """A trigger that fires on learners named "Refused": a rule of the store the import's checks
    do not know (on SQLite `sqlite`, the trigger's body; on PostgreSQL `postgresql`, a PL/pgSQL
    statement)."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON learners "
                    f"WHEN NEW.name = 'Refused' BEGIN {sqlite}; END"
                )
            )
            return
        connection.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.name = 'Refused' THEN {postgresql}; END IF; RETURN NEW; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON learners "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        )


REFUSED = "id,name\n7301,Kept out\n7302,Refused\n"


def test_a_constraint_of_the_store_is_a_bad_row_over_http_and_the_command(
    client: TestClient, settings: Settings, store: Engine, headers: dict[str, str], tmp_path: Path
) -> None:
    add_trigger(
        store,
        sqlite="SELECT RAISE(ABORT, 'learner refused by the store')",
        postgresql=(
            "RAISE EXCEPTION 'learner refused by the store' USING ERRCODE = 'check_violation'"
        ),
    )
    before = dump(store)
    answer = post(client, "learners", REFUSED, "csv", headers)
    assert (answer["http"], answer["code"]) == (422, 7221), answer
    [error] = answer["errors"]
    assert error["file"] == "learners"
    assert "the store refused the data" in error["reason"]
    assert "learner refused by the store" in error["reason"]
    path = tmp_path / "learners.csv"
    path.write_text(REFUSED)
    result = run_import(settings, path)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "learners: the store refused the data" in flat(result.output)
    assert dump(store) == before


def test_a_failing_store_is_503_and_one_line_from_the_command(
    client: TestClient, settings: Settings, store: Engine, headers: dict[str, str], tmp_path: Path
) -> None:
    # SQLite: a function that does not exist fails when the insert is prepared (an operational
    # error); PostgreSQL: a cancelled statement, as a statement timeout would cancel it.
    add_trigger(
        store,
        sqlite="SELECT no_such_function()",
        postgresql="RAISE EXCEPTION 'cancelled' USING ERRCODE = 'query_canceled'",
    )
    before = dump(store)
    answer = post(client, "learners", REFUSED, "csv", headers)
    assert (answer["http"], answer["code"]) == (503, 7503), answer
    assert "nothing was written" in answer["message"]
    path = tmp_path / "learners.csv"
    path.write_text(REFUSED)
    result = run_import(settings, path)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    output = flat(result.output)
    assert "error: the store failed during the import" in output
    assert "nothing was written" in output
    assert dump(store) == before
