"""`lms-progress import`: all or nothing, every bad row named, idempotent, totals true."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, true
from starlette.testclient import TestClient
from typer.testing import CliRunner

from lms_progress.auth.tokens import Operation
from lms_progress.cli import app as cli
from lms_progress.learning import repository as learning
from lms_progress.learning import totals
from lms_progress.settings import Settings
from tests import builders
from tests.conftest import auth, new_token
from tests.import_support import dump as dump_store

runner = CliRunner()

LEARNERS = """id,name,email,manager_id
7001,Ada Lovelace,ada@example.org,
7002,"Grace Hopper, RADM",,7001
7003,Alan Turing,,
"""
COURSES = """id,name,type,description
8001,Blended course,2,"two batches"
8002,Self-paced course,1,
"""
BATCHES = """id,course_id,name,starts_at,ends_at
8101,8001,Spring,2024-02-01,2024-06-30
8102,8001,Autumn,2024-10-01T09:00:00Z,
"""
MODULES = """id,course_id,batch_id,name,position
8201,8001,,Shared,0
8202,8001,8101,Spring only,1
8203,8002,,Only module,0
"""
ENTITIES = """id,module_id,entity_type,name,mandatory,published,max_marks
8301,8201,3,Reading,true,true,
8302,8202,2,Assignment,true,true,100
8303,8202,1,Quiz,false,true,10
8304,8203,0,Exam,true,true,
8305,8203,3,Draft,true,false,
"""
ENROLMENTS = """learner_id,course_id,batch_id,enrolled_at
7001,8001,8101,2024-02-01
7002,8001,8102,2024-10-02
7001,8002,,2024-03-01
7003,8002,,2024-03-05
"""
COMPLETIONS = [
    {"learner_id": 7001, "entity_id": 8301, "completed_at": "2024-02-03T10:00:00Z"},
    {"learner_id": 7001, "entity_id": 8302, "completed_at": "2024-02-10", "score": 87.5},
    {"learner_id": 7001, "entity_id": 8303, "completed_at": 1707868800, "score": "9"},
    {"learner_id": 7002, "entity_id": 8301, "completed_at": "2024-10-05"},
    {"learner_id": 7001, "entity_id": 8304, "completed_at": "2024-03-02"},
]
EVALUATIONS = """learner_id,course_id,awarded_marks,maximum_marks,evaluated_at
7001,8001,95,100,2024-07-01
"""


def write_set(directory: Path) -> list[Path]:
    directory.mkdir(exist_ok=True)
    files = {
        "learners.csv": LEARNERS,
        "courses.csv": COURSES,
        "batches.csv": BATCHES,
        "modules.csv": MODULES,
        "entities.csv": ENTITIES,
        "enrolments.csv": ENROLMENTS,
        "completions.jsonl": "\n".join(orjson.dumps(c).decode() for c in COMPLETIONS) + "\n",
        "evaluations.csv": EVALUATIONS,
    }
    paths = []
    # Given in an order other than the dependencies': the import sorts them out.
    for name in reversed(list(files)):
        path = directory / name
        path.write_text(files[name])
        paths.append(path)
    return paths


@pytest.fixture
def db(settings: Settings, engine: Engine) -> Store:
    return Store(settings.database_url, engine)


@dataclass
class Store:
    url: str
    engine: Engine


def run_import(db: Store, *args: Any) -> Any:
    """The command, on the test's store (SQLite or PostgreSQL) through the environment."""
    return runner.invoke(
        cli, ["import", *map(str, args)], env={"LMS_PROGRESS_DATABASE_URL": db.url}
    )


def dump(db: Store) -> dict[str, list[tuple[Any, ...]]]:
    return dump_store(db.engine)


def progress(client: TestClient, engine: Engine, learner: int) -> dict[int, dict[str, Any]]:
    headers = auth(new_token(engine, Operation.READ, user_id=learner))
    body = client.get(f"/api/v1/learners/{learner}/course-progress", headers=headers).json()
    return {row["courseId"]: row for row in body["courseProgress"]}


def test_import_of_every_kind(
    client: TestClient, engine: Engine, db: Store, tmp_path: Path
) -> None:
    result = run_import(db, *write_set(tmp_path / "set"))
    assert result.exit_code == 0, result.output
    ada = progress(client, engine, 7001)
    # Blended, Spring batch: Reading (course-wide) + Assignment + Quiz; all three done.
    blended = ada[8001]
    assert (blended["totalEntitiesCount"], blended["completedEntitiesCount"]) == (3, 3)
    assert blended["completionStatus"] == "Completed"
    assert blended["completionDate"] == "14-Feb-2024"  # the last completion (epoch seconds)
    assert blended["completedIn"] == "14 days"
    assert blended["batchName"] == "Spring"
    assert (blended["managerEvaluationTotalMarks"], blended["managerEvaluationMarks"]) == (
        "95",
        "100",
    )
    # Self-paced: the unpublished draft does not count.
    assert (ada[8002]["totalEntitiesCount"], ada[8002]["completedEntitiesCount"]) == (1, 1)
    grace = progress(client, engine, 7002)[8001]
    # Autumn batch: only the course-wide Reading applies.
    assert (grace["totalEntitiesCount"], grace["completedEntitiesCount"]) == (1, 1)
    assert grace["completionStatus"] == "Completed"
    alan = progress(client, engine, 7003)[8002]
    assert (alan["completionStatus"], alan["completionPercentage"]) == ("Yet to start", 0)
    assert "imported" in result.output and "completions" in result.output


def test_totals_after_import_equal_a_full_recount(
    engine: Engine, db: Store, tmp_path: Path
) -> None:
    assert run_import(db, *write_set(tmp_path / "set")).exit_code == 0
    before = dump(db)["enrolments"]
    with engine.begin() as connection:
        totals.refresh(connection, true())
    assert dump(db)["enrolments"] == before


def test_one_bad_row_writes_nothing_and_is_named(db: Store, tmp_path: Path) -> None:
    paths = write_set(tmp_path / "set")
    enrolments = tmp_path / "set" / "enrolments.csv"
    enrolments.write_text(ENROLMENTS + "7003,8001,8101,2024-13-01\n")
    before = dump(db)
    result = run_import(db, *paths)
    assert result.exit_code == 1
    assert f"{enrolments}:6" in result.output
    assert "enrolled_at must be a date" in result.output
    assert "nothing was written" in result.output
    assert dump(db) == before


def test_every_bad_row_is_reported_with_its_reason(db: Store, tmp_path: Path) -> None:
    paths = write_set(tmp_path / "set")
    (tmp_path / "set" / "learners.csv").write_text(
        LEARNERS + "7001,Ada again,,\n0,Zero,,\n7004,,,\n7005,Managed,,9999\n"
    )
    (tmp_path / "set" / "enrolments.csv").write_text(
        ENROLMENTS + "7003,8001,,2024-01-01\n7003,8002,8101,2024-01-01\n7003,9999,,2024-01-01\n"
    )
    (tmp_path / "set" / "completions.jsonl").write_text(
        '{"learner_id": 7003, "entity_id": 8302, "completed_at": "2024-02-01"}\n'
        '{"learner_id": 7001, "entity_id": 8305, "completed_at": "2024-02-01"}\n'
        '{"learner_id": 7001, "entity_id": 9999, "completed_at": "2024-02-01"}\n'
        '{"learner_id": 7001, "entity": 8301}\n'
        "not json\n"
        '{"learner_id": 7001, "entity_id": 8301, "entity_id": 8304, "completed_at": 1}\n'
    )
    (tmp_path / "set" / "entities.csv").write_text(
        ENTITIES + "8301,8201,3,Reading twice,true,true,\n"
    )
    before = dump(db)
    result = run_import(db, *paths)
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    expected = {
        "learners.csv:5": "learner 7001 is given twice",
        "learners.csv:6": "id must be a positive 64-bit integer",
        "learners.csv:7": "name is required",
        "learners.csv:8": "manager 9999 not found",
        "enrolments.csv:6": "course 8001 is blended: batch_id is required",
        "enrolments.csv:7": "course 8002 is not blended",
        "enrolments.csv:8": "course 9999 not found",
        "completions.jsonl:1": "learner 7003 is not enrolled in course 8001 (batch 8101)",
        "completions.jsonl:2": "entity 8305 is not published",
        "completions.jsonl:3": "entity 9999 not found",
        "completions.jsonl:4": "unknown fields: entity",
        "completions.jsonl:5": "not JSON",
        "completions.jsonl:6": "the key 'entity_id' is given more than once",
        "entities.csv:7": "entity 8301 is given twice in this import",
    }
    for where, reason in expected.items():
        assert f"{where}: {reason}" in out, (where, out)
    assert f"{len(expected)} bad rows" in out
    assert dump(db) == before


def test_a_bad_row_is_named_by_the_line_it_starts_on(db: Store, tmp_path: Path) -> None:
    """Quoted values may span lines: the line number is where the row begins, as an editor shows."""
    path = tmp_path / "learners.csv"
    path.write_text(
        "id,name,email,manager_id\n"
        '7301,"Ada\nLovelace",,\n'  # lines 2-3
        '0,"Zero\nrow",,\n'  # lines 4-5: bad
        '7302,"Grace",,9999\n'  # line 6: bad
    )
    result = run_import(db, path)
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert f"{path}:4: id must be a positive 64-bit integer" in out, out
    assert f"{path}:6: manager 9999 not found" in out, out


def test_a_second_run_changes_nothing(db: Store, tmp_path: Path) -> None:
    paths = write_set(tmp_path / "set")
    assert run_import(db, *paths).exit_code == 0
    after_first = dump(db)
    second = run_import(db, *paths)
    assert second.exit_code == 0, second.output
    assert dump(db) == after_first
    # learners: 3 read, 0 added, 3 already present
    assert "│ learners    │ 3    │ 0     │ 3" in second.output


def test_an_import_adds_but_never_changes(db: Store, tmp_path: Path) -> None:
    paths = write_set(tmp_path / "set")
    assert run_import(db, *paths).exit_code == 0
    before = dump(db)
    changed = tmp_path / "courses.csv"
    changed.write_text(COURSES.replace("Self-paced course", "Renamed"))
    result = run_import(db, changed)
    assert result.exit_code == 1
    assert "course 8002 exists with other values" in result.output
    assert dump(db) == before


def test_entities_added_later_recount_existing_enrolments(
    client: TestClient, engine: Engine, db: Store, tmp_path: Path
) -> None:
    assert run_import(db, *write_set(tmp_path / "set")).exit_code == 0
    more = tmp_path / "entities-more.csv"
    more.write_text("id,module_id,entity_type,name\n8306,8201,3,Extra reading\n")
    result = run_import(db, more)
    assert result.exit_code == 0, result.output
    ada = progress(client, engine, 7001)[8001]
    # 3 of 4 now; the enrolment completed earlier stays completed (the service's rule).
    assert (ada["completedEntitiesCount"], ada["totalEntitiesCount"]) == (3, 4)
    assert ada["completionPercentage"] == 75
    assert ada["completionStatus"] == "Completed"


def test_completions_are_idempotent_and_the_first_wins(
    client: TestClient, engine: Engine, db: Store, tmp_path: Path
) -> None:
    learner = builders.learner(engine, learner_id=7100)
    course, _, (first, second) = builders.course(engine, 2)
    builders.enrol(engine, learner, course, builders.at(2024, 1, 1))
    builders.complete(engine, learner, first, builders.at(2024, 1, 2))
    path = tmp_path / "completions.csv"
    path.write_text(
        "learner_id,entity_id,completed_at\n"
        f"{learner},{first},2024-05-05\n"
        f"{learner},{second},2024-01-03\n"
        f"{learner},{second},2024-01-09\n"
    )
    result = run_import(db, path)
    assert result.exit_code == 0, result.output
    row = progress(client, engine, learner)[course]
    assert (row["completedEntitiesCount"], row["completionStatus"]) == (2, "Completed")
    assert row["completionDate"] == "03-Jan-2024"
    assert "│ completions │ 3    │ 1     │ 2" in result.output


def test_a_learner_deactivated_in_the_store_is_neither_enrolled_nor_credited(
    db: Store, tmp_path: Path
) -> None:
    """As in the API (409 / 7304): bad rows that say why, and nothing written."""
    learner = builders.learner(db.engine, learner_id=7300)
    course, _, (entity,) = builders.course(db.engine, 1)
    other, _, _ = builders.course(db.engine, 1)
    builders.enrol(db.engine, learner, course, builders.at(2024, 1, 1))
    with db.engine.begin() as connection:
        learning.deactivate_learner(connection, learner)
    enrolments = tmp_path / "enrolments.csv"
    enrolments.write_text(f"learner_id,course_id,enrolled_at\n{learner},{other},2024-01-01\n")
    completions = tmp_path / "completions.csv"
    completions.write_text(f"learner_id,entity_id,completed_at\n{learner},{entity},2024-01-02\n")
    before = dump(db)
    result = run_import(db, enrolments, completions)
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    deactivated = f"learner {learner} is deactivated: a deactivated learner cannot be"
    assert f"{enrolments}:2: {deactivated} enrolled" in out, out
    assert f"{completions}:2: {deactivated} credited with a completion" in out, out
    assert dump(db) == before


def test_a_learner_the_import_creates_deactivated_brings_their_history(
    client: TestClient, engine: Engine, db: Store, tmp_path: Path
) -> None:
    """A former learner moved in with `active` false keeps their enrolments and completions (the
    API reaches the same state: enrol, complete, then deactivate); running the files again, with
    the learner now deactivated in the store, finds them all present."""
    paths = write_set(tmp_path / "set")
    learners = tmp_path / "set" / "learners.csv"
    learners.write_text("id,name,active\n7001,Ada,false\n7002,Grace,true\n7003,Alan,true\n")
    first = run_import(db, *paths)
    assert first.exit_code == 0, first.output
    ada = progress(client, engine, 7001)[8001]
    assert (ada["completedEntitiesCount"], ada["completionStatus"]) == (3, "Completed")
    after = dump(db)
    again = run_import(db, *paths)
    assert again.exit_code == 0, again.output
    assert dump(db) == after


def test_a_completion_on_a_day_before_its_enrolment_is_a_bad_row(db: Store, tmp_path: Path) -> None:
    """The day is the organisation's (here Asia/Kolkata, UTC+05:30), as in the API's rule for an
    admin's completion; on the enrolment's own day any time is accepted."""
    course, _, (entity,) = builders.course(db.engine, 1)
    for learner in (7401, 7402):
        builders.learner(db.engine, learner_id=learner)
    enrolments = tmp_path / "enrolments.csv"
    enrolments.write_text(
        "learner_id,course_id,enrolled_at\n"
        f"7401,{course},2024-01-10T00:30:00Z\n"  # 06:00 on 10 January in Kolkata
        f"7402,{course},2024-01-09T19:30:00Z\n"  # 01:00 on 10 January in Kolkata
    )
    completions = tmp_path / "completions.csv"
    completions.write_text(
        "learner_id,entity_id,completed_at\n"
        f"7401,{entity},2024-01-09T23:00:00Z\n"  # 04:30 on 10 January: the same day
        f"7402,{entity},2024-01-09T18:00:00Z\n"  # 23:30 on 9 January: the day before
    )
    env = {"LMS_PROGRESS_DATABASE_URL": db.url, "LMS_PROGRESS_TIMEZONE": "Asia/Kolkata"}
    before = dump(db)
    result = runner.invoke(cli, ["import", str(enrolments), str(completions)], env=env)
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert (
        f"{completions}:3: completed_at (09-Jan-2024) is on a day before learner 7402's "
        f"enrolment in course {course} (10-Jan-2024)"
    ) in out, out
    assert "1 bad rows" in out
    assert dump(db) == before
    completions.write_text(
        f"learner_id,entity_id,completed_at\n7401,{entity},2024-01-09T23:00:00Z\n"
    )
    accepted = runner.invoke(cli, ["import", str(enrolments), str(completions)], env=env)
    assert accepted.exit_code == 0, accepted.output


def test_a_start_on_a_day_before_its_enrolment_is_a_bad_row(db: Store, tmp_path: Path) -> None:
    course, _, _ = builders.course(db.engine, 1)
    for learner in (7411, 7412):
        builders.learner(db.engine, learner_id=learner)
    enrolments = tmp_path / "enrolments.csv"
    enrolments.write_text(
        "learner_id,course_id,enrolled_at,started_at\n"
        f"7411,{course},2024-01-10T00:30:00Z,2024-01-09T23:00:00Z\n"  # the same day in Kolkata
        f"7412,{course},2024-01-10T00:30:00Z,2024-01-09T18:00:00Z\n"  # the day before
    )
    env = {"LMS_PROGRESS_DATABASE_URL": db.url, "LMS_PROGRESS_TIMEZONE": "Asia/Kolkata"}
    before = dump(db)
    result = runner.invoke(cli, ["import", str(enrolments)], env=env)
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert (
        f"{enrolments}:3: started_at (09-Jan-2024) is on a day before learner 7412's "
        f"enrolment in course {course} (10-Jan-2024)"
    ) in out, out
    assert "1 bad rows" in out
    assert dump(db) == before


def test_kind_from_option_and_file_names(db: Store, tmp_path: Path) -> None:
    odd = tmp_path / "people.csv"
    odd.write_text(LEARNERS)
    refused = run_import(db, odd)
    assert refused.exit_code == 1
    assert "--kind" in refused.output
    assert run_import(db, "--kind", "learners", odd).exit_code == 0
    jsonl = tmp_path / "learners-extra.txt"
    jsonl.write_text('{"id": 7010, "name": "JSON person"}\n')
    assert run_import(db, "--format", "jsonl", jsonl).exit_code == 0
    assert len(dump(db)["learners"]) == 4


def test_a_file_with_unknown_or_missing_columns_is_refused_at_its_header(
    db: Store, tmp_path: Path
) -> None:
    path = tmp_path / "courses.csv"
    path.write_text("id,title,type\n1,x,1\n")
    result = run_import(db, path)
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert f"{path}:1: unknown columns: title" in out


def test_an_empty_csv_file_is_refused_for_want_of_a_header(db: Store, tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_bytes(b"")
    before = dump(db)
    for args in ((path,), ("--check", path)):
        result = run_import(db, *args)
        assert result.exit_code == 1, result.output
        assert f"{path}:1: no header row: the file is empty" in " ".join(result.output.split())
    assert dump(db) == before


def test_the_summary_of_a_failed_run_shows_nothing_added(db: Store, tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text(LEARNERS + "7004,,,\n")  # three good rows, one bad
    result = run_import(db, path)
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "│ learners │ 3 │ 0 │" in out, out  # the three good rows read, none added
    assert "already present" not in out
    assert dump(db)["learners"] == []


def test_check_writes_nothing(db: Store, tmp_path: Path) -> None:
    paths = write_set(tmp_path / "set")
    before = dump(db)
    result = run_import(db, "--check", *paths)
    assert result.exit_code == 0, result.output
    assert "nothing written" in result.output
    # What it would add, said so: 3 learners read, 3 would be added, none present.
    out = " ".join(result.output.split())
    assert "would be added" in out and "│ learners │ 3 │ 3 │ 0 │" in out, out
    assert dump(db) == before


def test_check_neither_creates_nor_migrates_a_store(tmp_path: Path) -> None:
    """A store that does not exist yet is checked as the empty store an import would create,
    and is still not there afterwards; an existing store is never migrated by a check."""
    paths = write_set(tmp_path / "set")
    missing = tmp_path / "new.db"
    result = runner.invoke(cli, ["import", "--check", "--db", str(missing), *map(str, paths)])
    assert result.exit_code == 0, result.output
    assert "does not exist yet: checked against an empty store" in " ".join(result.output.split())
    alone = runner.invoke(cli, ["import", "--check", "--db", str(missing), str(paths[0])])
    assert alone.exit_code == 1  # evaluations of learners and courses the empty store lacks
    sample = Path(__file__).parent / "data" / "oulad"
    oulad = runner.invoke(cli, ["import-oulad", "--check", "--db", str(missing), str(sample)])
    assert oulad.exit_code == 0, oulad.output
    assert list(tmp_path.glob("new.db*")) == []
    unmigrated = tmp_path / "empty.db"
    unmigrated.write_bytes(b"")
    refused = runner.invoke(cli, ["import", "--check", "--db", str(unmigrated), *map(str, paths)])
    assert refused.exit_code == 1
    assert "lms-progress db upgrade" in refused.output
    assert unmigrated.read_bytes() == b""


def test_import_commands_have_help() -> None:
    for command in ("import", "import-oulad"):
        result = runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "docs/import.md" in " ".join(result.output.split())


def test_import_oulad_command_reports_what_it_did(db: Store) -> None:
    sample = Path(__file__).parent / "data" / "oulad"
    env = {"LMS_PROGRESS_DATABASE_URL": db.url}
    checked = runner.invoke(cli, ["import-oulad", "--check", str(sample)], env=env)
    assert checked.exit_code == 0, checked.output
    assert dump(db)["learners"] == []
    result = runner.invoke(cli, ["import-oulad", str(sample)], env=env)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "results without a score ('?'): completions without a score" in out
    assert "imported in" in out
    assert len(dump(db)["learners"]) == 71


def test_json_lines_numbers_are_read_exactly(db: Store, tmp_path: Path) -> None:
    learner = builders.learner(db.engine, learner_id=7200)
    course, _, (entity,) = builders.course(db.engine, 1)
    builders.enrol(db.engine, learner, course, builders.at(2024, 1, 1))
    path = tmp_path / "completions.jsonl"
    # As a double this is 100.0: the score must keep every digit written.
    path.write_text(
        f'{{"learner_id": {learner}, "entity_id": {entity}, '
        '"completed_at": "2024-01-02", "score": 99.99999999999999999}\n'
    )
    result = run_import(db, path)
    assert result.exit_code == 0, result.output
    (row,) = dump(db)["entity_completions"]
    assert "99.99999999999999999" in row


@pytest.mark.parametrize("written", ["20240102", 20240102, "2024-01-02"])
def test_eight_digits_are_a_date_not_seconds_from_1970(
    db: Store, tmp_path: Path, written: str | int
) -> None:
    """`20240102` as seconds would be 1970-08-23: an export's compact date is read as the date."""
    learner = builders.learner(db.engine, learner_id=7201)
    course, _, (entity,) = builders.course(db.engine, 1)
    builders.enrol(db.engine, learner, course, builders.at(2024, 1, 1))
    path = tmp_path / "completions.jsonl"
    path.write_text(
        orjson.dumps({"learner_id": learner, "entity_id": entity, "completed_at": written}).decode()
        + "\n"
    )
    result = run_import(db, path)
    assert result.exit_code == 0, result.output
    (row,) = dump(db)["entity_completions"]
    midnight_utc = int(datetime(2024, 1, 2, tzinfo=UTC).timestamp())  # the tests' zone is UTC
    assert midnight_utc in row


def test_an_import_waits_for_a_write_under_way_and_counts_it(
    db: Store, engine: Engine, tmp_path: Path
) -> None:
    """An API completion holds its course while an import adds an entity to it and recounts:
    the import waits for it, and the totals count both (on PostgreSQL a recount that ran
    alongside would miss the completion)."""
    assert run_import(db, *write_set(tmp_path / "set")).exit_code == 0
    more = tmp_path / "entities-more.csv"
    more.write_text("id,module_id,entity_type,name\n8306,8203,3,Extra reading\n")
    command = [sys.executable, "-m", "lms_progress", "import", str(more)]
    env = {**os.environ, "LMS_PROGRESS_DATABASE_URL": db.url}
    with engine.connect() as connection:
        transaction = connection.begin()
        learning.complete_entity(connection, learner_id=7003, entity_id=8304, at=1728000000)
        with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as importing:
            time.sleep(1.0)
            assert importing.poll() is None  # waiting for the completion's transaction
            transaction.commit()
            out, _ = importing.communicate(timeout=60)
        assert importing.returncode == 0, out
    kept = dump(db)["enrolments"]
    with engine.begin() as c:
        totals.refresh(c, true())
    assert dump(db)["enrolments"] == kept
