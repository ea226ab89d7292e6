"""`lms-progress progress`: table, JSON and CSV output against a real lms-progress process."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import subprocess
import sys

import httpx
import pytest
from typer.testing import CliRunner

from lms_progress.cli import app
from tests import builders
from tests.client_servers import LmsServer, lms_fixture
from tests.conftest import auth, new_token

lms = lms_fixture(page_size=2)
locking_lms = lms_fixture(
    rate_limit_threshold=2, rate_limit_window_seconds=60, rate_limit_lock_seconds=1
)

_users = itertools.count(4_000)
runner = CliRunner()
NO_ENV = {"LMS_PROGRESS_TOKEN": None, "LMS_PROGRESS_URL": None, "COLUMNS": "120"}


@pytest.fixture(scope="module")
def learner(lms: LmsServer) -> int:
    """Three courses (two pages): half done, untouched, and completed; one with a 64-bit id."""
    engine = lms.engine
    who = builders.learner(engine, "Grace Hopper")
    algebra, _, algebra_entities = builders.course(engine, 4, name="Algebra", course_id=2**63 - 1)
    biology, batch, _ = builders.course(engine, 3, name="Biology", course_type=2)
    chemistry, _, chemistry_entities = builders.course(engine, 2, name="Chemistry")
    builders.enrol(engine, who, algebra, builders.at(2024, 5, 3))
    builders.enrol(engine, who, biology, builders.at(2024, 5, 2), batch_id=batch)
    builders.enrol(engine, who, chemistry, builders.at(2024, 5, 1))
    for entity in algebra_entities[:2]:
        builders.complete(engine, who, entity, builders.at(2024, 5, 4))
    for entity in chemistry_entities:
        builders.complete(engine, who, entity, builders.at(2024, 5, 6))
    return who


def token_for(server: LmsServer) -> str:
    return new_token(server.engine, user_id=next(_users))


def all_rows(server: LmsServer, learner: int, token: str) -> list[dict[str, object]]:
    """The API's rows over every page, read directly (not through the client)."""
    rows: list[dict[str, object]] = []
    index = 0
    while True:
        body = httpx.get(
            f"{server.url}/api/v1/learners/{learner}/course-progress",
            params={"startIndex": index},
            headers=auth(token),
        ).json()
        rows += body["courseProgress"]
        index += len(body["courseProgress"])
        if not body["hasMoreRecords"]:
            return rows


def test_the_table_shows_every_course_with_a_progress_bar(lms: LmsServer, learner: int) -> None:
    args = ["progress", str(learner), "--url", lms.url, "--token", token_for(lms)]
    result = runner.invoke(app, args, env=NO_ENV)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Grace Hopper ({learner})" in out and "3 courses" in out
    lines = out.splitlines()
    algebra = next(line for line in lines if "Algebra" in line)
    assert "2024-05-03" in algebra and " 50%" in algebra and "2/4" in algebra
    assert "━" in algebra  # the bar, half drawn
    biology = next(line for line in lines if "Biology" in line)
    assert "  0%" in biology and "0/3" in biology and "Yet to start" in biology
    chemistry = next(line for line in lines if "Chemistry" in line)
    assert "100%" in chemistry and "Completed" in chemistry
    assert "2024-05-06" in lines[lines.index(chemistry) + 1]  # completion date below the status
    assert lines.index(algebra) < lines.index(biology) < lines.index(chemistry)


def test_json_is_the_api_s_rows_from_every_page(lms: LmsServer, learner: int) -> None:
    token = token_for(lms)
    result = runner.invoke(
        app,
        ["progress", str(learner), "--url", lms.url, "--json"],
        env={**NO_ENV, "LMS_PROGRESS_TOKEN": token},
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["learnerId"] == str(learner) and body["learnerName"] == "Grace Hopper"
    assert body["courseProgress"] == all_rows(lms, learner, token)
    assert '"courseId": 9223372036854775807' in result.stdout


def test_csv_has_a_header_and_one_line_per_course(lms: LmsServer, learner: int) -> None:
    token = token_for(lms)
    args = ["progress", str(learner), "--url", lms.url, "--token", token, "--csv"]
    result = runner.invoke(app, args, env=NO_ENV)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    expected = all_rows(lms, learner, token)
    assert [r["courseId"] for r in rows] == [str(e["courseId"]) for e in expected]
    assert [r["completionPercentage"] for r in rows] == ["50", "0", "100"]
    assert rows[1]["batchName"] == "Batch" and rows[0]["batchId"] == ""
    assert rows[2]["completionDate"] == "06-May-2024"


def test_the_url_and_token_come_from_the_environment_in_a_real_process(
    lms: LmsServer, learner: int
) -> None:
    env = {**os.environ, "LMS_PROGRESS_URL": lms.url, "LMS_PROGRESS_TOKEN": token_for(lms)}
    done = subprocess.run(
        [sys.executable, "-m", "lms_progress", "progress", str(learner), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [row["courseName"] for row in json.loads(done.stdout)["courseProgress"]] == [
        "Algebra",
        "Biology",
        "Chemistry",
    ]


def test_without_a_token_it_says_how_to_give_one(lms: LmsServer) -> None:
    result = runner.invoke(app, ["progress", "1", "--url", lms.url], env=NO_ENV)
    assert result.exit_code == 1
    assert "LMS_PROGRESS_TOKEN" in result.stderr and result.stdout == ""


def test_an_unknown_learner_is_an_error_with_its_code(lms: LmsServer) -> None:
    args = ["progress", "424242", "--url", lms.url, "--token", token_for(lms)]
    result = runner.invoke(app, args, env=NO_ENV)
    assert result.exit_code == 1
    assert "learner 424242 not found (code 7301)" in result.stderr


def test_json_and_csv_together_are_refused(lms: LmsServer) -> None:
    args = ["progress", "1", "--url", lms.url, "--token", "t", "--json", "--csv"]
    result = runner.invoke(app, args, env=NO_ENV)
    assert result.exit_code == 1 and "one of --json and --csv" in result.stderr


def test_it_waits_out_a_lock_and_then_shows_the_courses(locking_lms: LmsServer) -> None:
    who = builders.learner(locking_lms.engine, "Patient")
    token = token_for(locking_lms)
    url = f"{locking_lms.url}/api/v1/learners/{who}/course-progress"
    for _ in range(2):
        assert httpx.get(url, headers=auth(token)).status_code == 200
    args = ["progress", str(who), "--url", locking_lms.url, "--token", token]
    result = runner.invoke(app, args, env=NO_ENV)
    assert result.exit_code == 0, result.output
    assert "rate limit lock: waiting 1 s" in result.stderr
    assert "Patient" in result.stdout

    # Locked again (one call made, one more to the threshold), this time without waiting.
    assert httpx.get(url, headers=auth(token)).status_code == 200
    result = runner.invoke(app, [*args, "--no-wait"], env=NO_ENV)
    assert result.exit_code == 1
    assert "(code 7209)" in result.stderr and "retry in 1 s" in result.stderr


def test_on_a_terminal_a_spinner_counts_down_the_lock(locking_lms: LmsServer) -> None:
    who = builders.learner(locking_lms.engine, "Spun")
    token = token_for(locking_lms)
    url = f"{locking_lms.url}/api/v1/learners/{who}/course-progress"
    for _ in range(2):
        assert httpx.get(url, headers=auth(token)).status_code == 200
    args = ["progress", str(who), "--url", locking_lms.url, "--token", token]
    result = runner.invoke(app, args, env={**NO_ENV, "FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"})
    assert result.exit_code == 0, result.output
    assert "⠋" in result.stderr and "rate limit lock: retrying in 1 s" in result.stderr
    assert "Spun" in result.stdout
