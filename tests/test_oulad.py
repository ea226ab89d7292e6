"""OULAD loaded through `import-oulad`, then read through the API, against an independent
recomputation from the raw CSV files (plain csv and datetime, nothing from the importer)."""

from __future__ import annotations

import csv
import random
import re
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from bench.import_oulad import unpack_full_oulad
from lms_progress.auth.tokens import Operation
from lms_progress.importer.oulad import load_oulad
from tests.conftest import FakeClock, auth, new_token
from tests.import_support import dump

SAMPLE = Path(__file__).parent / "data" / "oulad"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@pytest.fixture(scope="module")
def full_oulad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole data set, kept gzipped in tests/data/oulad-full/, unpacked once."""
    return unpack_full_oulad(tmp_path_factory.mktemp("oulad-full"))


# -- the independent recomputation -----------------------------------------------------------


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def start_of(presentation: str) -> date:
    return date(int(presentation[:4]), 2 if presentation[4] == "B" else 10, 1)


def shown(day: date) -> str:
    return f"{day.day:02d}-{MONTHS[day.month - 1]}-{day.year}"


@dataclass
class Expected:
    batch_name: str
    enrolled: date
    total: int
    mandatory_total: int
    done: dict[str, date] = field(default_factory=dict)  # assessment -> submission day
    mandatory: set[str] = field(default_factory=set)

    def row(self, mandatory_only: bool) -> dict[str, Any]:
        total = self.mandatory_total if mandatory_only else self.total
        counted = [d for a, d in self.done.items() if a in self.mandatory or not mandatory_only]
        complete = self.total > 0 and len(self.done) == self.total
        finished = max(self.done.values()) if complete else None
        last = max(counted) if counted else None
        until = finished or last
        return {
            "batchName": self.batch_name,
            "totalEntitiesCount": total,
            "completedEntitiesCount": len(counted),
            "completionPercentage": 100 * len(counted) // total if total else 0,
            "completionStatus": "Completed"
            if complete
            else ("In progress" if self.done else "Yet to start"),
            "enrolledDate": shown(self.enrolled),
            "completionDate": shown(finished) if finished else "",
            "completedIn": f"{max((until - self.enrolled).days + 1, 1)} days" if until else "",
            "type": 2,
            "courseType": "Blended learning",
        }


def recompute(directory: Path, students: set[str]) -> dict[str, dict[str, Expected]]:
    """student -> module -> the enrolment that should be listed (none when withdrawn)."""
    assessments: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    presentation_of: dict[str, tuple[str, str]] = {}
    for a in rows(directory / "assessments.csv"):
        key = (a["code_module"], a["code_presentation"])
        assessments[key].append(a)
        presentation_of[a["id_assessment"]] = key
    registrations: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for r in rows(directory / "studentRegistration.csv"):
        if r["id_student"] in students:
            registrations[(r["id_student"], r["code_module"])].append(r)
    listed: dict[str, dict[str, Expected]] = defaultdict(dict)
    for (student, module), regs in registrations.items():
        # The latest presentation replaces the earlier ones; a withdrawal ends it.
        latest = max(regs, key=lambda r: (r["code_presentation"][:4], r["code_presentation"][4]))
        if latest["date_unregistration"]:
            continue
        presentation = latest["code_presentation"]
        items = assessments[(module, presentation)]
        registered = int(latest["date_registration"] or 0)
        listed[student][module] = Expected(
            batch_name=f"{module} {presentation}",
            enrolled=start_of(presentation) + timedelta(days=registered),
            total=len(items),
            mandatory_total=sum(1 for a in items if float(a["weight"]) > 0),
            mandatory={a["id_assessment"] for a in items if float(a["weight"]) > 0},
        )
    for result in rows(directory / "studentAssessment.csv"):
        student = result["id_student"]
        module, presentation = presentation_of[result["id_assessment"]]
        expected = listed.get(student, {}).get(module)
        if expected is not None and expected.batch_name == f"{module} {presentation}":
            day = start_of(presentation) + timedelta(days=int(result["date_submitted"]))
            # Submitted before the registration (banked): completed on the enrolment day.
            expected.done[result["id_assessment"]] = max(day, expected.enrolled)
    return listed


def check_students(
    client: TestClient, engine: Engine, clock: FakeClock, directory: Path, students: set[str]
) -> int:
    headers = auth(new_token(engine, Operation.READ))
    expected = recompute(directory, students)
    checked = 0
    for student in sorted(students):
        clock.advance(61)  # many reads: the rate limit is not what is tested here
        response = client.get(f"/api/v1/learners/{student}/course-progress", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["learnerId"] == student
        assert body["learnerName"] == f"Student {student}"
        got = {row["courseName"].split()[-1]: row for row in body["courseProgress"]}
        want = expected.get(student, {})
        assert set(got) == set(want), student
        for module, row in got.items():
            assert {k: row[k] for k in want[module].row(False)} == want[module].row(False), (
                student,
                module,
            )
            clock.advance(61)
            mandatory = client.get(
                f"/api/v1/courses/{row['courseId']}/batches/{row['batchId']}"
                f"/learners/{student}/course-progress?progressType=1",
                headers=headers,
            ).json()["courseProgress"][0]
            wanted = want[module].row(True)
            assert {k: mandatory[k] for k in wanted} == wanted, (student, module)
            checked += 1
    return checked


def registered_students(directory: Path) -> list[str]:
    return sorted({r["id_student"] for r in rows(directory / "studentRegistration.csv")})


# -- the tests ---------------------------------------------------------------------------------


def test_sample_progress_equals_recomputation(
    client: TestClient, engine: Engine, clock: FakeClock
) -> None:
    report = load_oulad(engine, SAMPLE)
    assert report.committed, report.errors
    students = set(registered_students(SAMPLE))
    assert check_students(client, engine, clock, SAMPLE, students) >= 40
    # The sample reaches every status.
    statuses = {
        row.row(False)["completionStatus"]
        for modules in recompute(SAMPLE, students).values()
        for row in modules.values()
    }
    assert statuses == {"Completed", "In progress", "Yet to start"}


def test_sample_report_says_what_happened_to_incomplete_rows(engine: Engine) -> None:
    report = load_oulad(engine, SAMPLE)
    notes = " ".join(report.notes)
    assessments = rows(SAMPLE / "assessments.csv")
    results = rows(SAMPLE / "studentAssessment.csv")
    registrations = rows(SAMPLE / "studentRegistration.csv")
    without_date = sum(1 for a in assessments if not a["date"])
    without_score = sum(1 for r in results if r["score"] in ("", "?"))
    unregistered = sum(1 for r in registrations if r["date_unregistration"])
    no_registration_date = sum(1 for r in registrations if not r["date_registration"])
    assert f"{without_date} assessments without a date" in notes
    assert f"{without_score} results without a score" in notes
    assert f"{unregistered} registrations with date_unregistration" in notes
    assert f"{no_registration_date} registrations without date_registration" in notes
    assert report.counts["completions"].added == len(results)


def test_results_submitted_before_the_registration_count_from_the_enrolment_day(
    engine: Engine,
) -> None:
    """OULAD has banked results submitted before the student registered for the presentation; a
    completion may not be dated before its enrolment's day, so they are dated on that day."""
    registered = {
        (r["id_student"], r["code_module"], r["code_presentation"]): int(
            r["date_registration"] or 0
        )
        for r in rows(SAMPLE / "studentRegistration.csv")
    }
    presentation_of = {
        a["id_assessment"]: (a["code_module"], a["code_presentation"])
        for a in rows(SAMPLE / "assessments.csv")
    }
    early = [
        (int(r["id_student"]), int(r["id_assessment"]))
        for r in rows(SAMPLE / "studentAssessment.csv")
        if int(r["date_submitted"])
        < registered[(r["id_student"], *presentation_of[r["id_assessment"]])]
    ]
    assert early  # the sample holds some
    # Far from UTC, where a day taken in UTC would be wrong: the load is whole all the same.
    report = load_oulad(engine, SAMPLE, zone=ZoneInfo("Pacific/Kiritimati"))
    assert report.committed, report.sorted_errors()[:5]
    assert f"{len(early)} results submitted before the student's registration" in " ".join(
        report.notes
    )
    query = text(
        "SELECT e.learner_id, c.entity_id, c.completed_at, e.enrolled_at FROM entity_completions c "
        "JOIN enrolments e ON e.id = c.enrolment_id"
    )
    with engine.connect() as connection:
        stored = {(row[0], row[1]): (row[2], row[3]) for row in connection.execute(query)}
    assert all(done >= enrolled for done, enrolled in stored.values())
    assert all(stored[key][0] == stored[key][1] for key in early)


def test_sample_loads_twice_without_change(engine: Engine) -> None:
    first = load_oulad(engine, SAMPLE)
    before = dump(engine)
    second = load_oulad(engine, SAMPLE)
    assert first.committed and second.committed
    assert sum(c.added for c in second.counts.values()) == 0
    assert second.counts["completions"].present == first.counts["completions"].added
    assert dump(engine) == before


def test_a_byte_that_is_not_utf8_is_a_bad_row_at_its_line(engine: Engine, tmp_path: Path) -> None:
    copy = tmp_path / "oulad"
    shutil.copytree(SAMPLE, copy)
    results = copy / "studentAssessment.csv"
    lines = len(results.read_bytes().splitlines())
    with results.open("ab") as f:
        f.write(b"11391,1752,18,0,7\xff8\n")
    report = load_oulad(engine, copy)
    assert not report.committed
    [error] = report.errors
    assert (error.source, error.line) == ("studentAssessment.csv", lines + 1)
    assert "byte 0xff is not UTF-8" in error.reason


def test_students_in_several_presentations_keep_only_the_latest(
    client: TestClient, engine: Engine, clock: FakeClock
) -> None:
    load_oulad(engine, SAMPLE)
    by_module: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for r in rows(SAMPLE / "studentRegistration.csv"):
        by_module[(r["id_student"], r["code_module"])].append(r)
    repeated = [(s, m, regs) for (s, m), regs in by_module.items() if len(regs) > 1]
    assert repeated
    headers = auth(new_token(engine, Operation.READ))
    for student, module, regs in repeated:
        clock.advance(61)
        listed = [
            row["batchName"]
            for row in client.get(
                f"/api/v1/learners/{student}/course-progress", headers=headers
            ).json()["courseProgress"]
            if row["courseName"].endswith(module)
        ]
        latest = max(regs, key=lambda r: (r["code_presentation"][:4], r["code_presentation"][4]))
        assert listed == (
            [] if latest["date_unregistration"] else [f"{module} {latest['code_presentation']}"]
        )


def test_full_oulad_progress_equals_recomputation(
    client: TestClient, engine: Engine, clock: FakeClock, full_oulad: Path
) -> None:
    directory = full_oulad
    report = load_oulad(engine, directory)
    assert report.committed, report.sorted_errors()[:5]
    assert report.counts["completions"].added == len(rows(directory / "studentAssessment.csv"))
    students = random.Random(20131001).sample(registered_students(directory), 150)
    assert check_students(client, engine, clock, directory, set(students)) >= 100
    # docs/import.md lists what this load reports, line for line (a count of 0 is not listed).
    assert documented_counts() == Counter(
        counted for counted in map(count_and_words, report.notes) if counted[0]
    )


def count_and_words(line: str) -> tuple[int, str]:
    """A report line (or a doc bullet) by its leading count and the two words after it."""
    count, first, second = re.findall(r"\d[\d,]*|[a-z_]+", line)[:3]
    return int(count.replace(",", "")), f"{first} {second}"


def documented_counts() -> Counter[tuple[int, str]]:
    text = (Path(__file__).parents[1] / "docs" / "import.md").read_text()
    listed = text.split("In the full data set:\n\n", 1)[1].split("\n\n", 1)[0]
    bullets = [b for b in listed.split("\n- ") if b.lstrip("- ")[:1].isdigit()]
    return Counter(count_and_words(b.lstrip("- ")) for b in bullets)
