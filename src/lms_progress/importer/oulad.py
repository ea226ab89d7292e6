"""Loading the Open University Learning Analytics Dataset (OULAD, CC BY 4.0) through the bulk
loader.

Mapping (docs/import.md): a module is a blended course, a presentation a batch of it with one
module holding its assessments; an assessment is an entity (its OULAD id kept); a student is a
learner (id kept); a registration is an enrolment; a result in studentAssessment.csv is a
completion on its submission day, with its score. OULAD counts days from the start of each
presentation: "B" presentations start on 1 February, "J" presentations on 1 October. Every instant
is taken at 12:00 UTC of its day, so that the day stays the same in every organisation zone within
12 hours of UTC.

Files are read by their header names (copies of the data set differ in column order).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from lms_progress.importer.load import Loader, Progress, Report, run
from lms_progress.importer.reader import not_utf8, utf8_text
from lms_progress.importer.records import (
    BATCHES,
    COMPLETIONS,
    COURSES,
    ENROLMENTS,
    ENTITIES,
    LEARNERS,
    MODULES,
)
from lms_progress.progress.rules import canonical_marks

BLENDED = 2
ENTITY_TYPES = {"TMA": 2, "CMA": 1, "Exam": 0}  # assignment, online test, offline test
START_MONTHS = {"B": 2, "J": 10}
MAX_MARKS = "100"
FILES = ("courses.csv", "assessments.csv", "studentRegistration.csv", "studentAssessment.csv")
DAY = 86_400

Row = tuple[int, tuple[str, ...]]  # line, values
Staged = tuple[int, tuple[Any, ...]]  # line, record


def course_id(code_module: str) -> int:
    """The course id of a module code: two digits per letter, A=01 .. Z=26 ("AAA" -> 10101)."""
    if not (code_module.isascii() and code_module.isalpha() and 1 <= len(code_module) <= 6):
        raise ValueError(f"module code {code_module!r} is not 1-6 letters")
    return int("".join(f"{ord(ch) - ord('A') + 1:02d}" for ch in code_module.upper()))


def presentation_start(code_presentation: str) -> datetime:
    """12:00 UTC on the first day of a presentation: "2013J" -> 1 Oct 2013, "2014B" -> 1 Feb."""
    year, half = code_presentation[:4], code_presentation[4:]
    if len(code_presentation) != 5 or not year.isdigit() or half not in START_MONTHS:
        raise ValueError(f"presentation {code_presentation!r} is not YYYYB or YYYYJ")
    return datetime(int(year), START_MONTHS[half], 1, 12, tzinfo=UTC)


def batch_id(code_module: str, code_presentation: str) -> int:
    """course id, then the year and 1 (B) or 2 (J): AAA 2013J -> 1010120132."""
    half = 1 if code_presentation[4:] == "B" else 2
    return course_id(code_module) * 100_000 + int(code_presentation[:4]) * 10 + half


@dataclass(slots=True)
class _Presentation:
    batch_id: int
    course_id: int
    start: int  # epoch seconds of day 0
    order: int  # later presentations sort higher


# presentation order, line, enrolled at, ended at, presentation
_Registration = tuple[int, int, int, int | None, "_Presentation"]


@dataclass(slots=True)
class _Tally:
    no_registration_date: int = 0
    unregistered: int = 0
    replaced: int = 0
    assessments_without_date: int = 0
    results_without_score: int = 0
    results_without_date: int = 0
    results_without_any_date: int = 0
    banked: int = 0
    results_of_ended: int = 0
    results_before_registration: int = 0
    ended: set[tuple[int, int]] = field(default_factory=set)  # (learner, batch)
    # (learner, batch) -> when the (latest) enrolment there begins
    enrolled: dict[tuple[int, int], int] = field(default_factory=dict)


class OuladFiles:
    """Stages the OULAD files of one directory into a loader."""

    def __init__(self, directory: Path, loader: Loader, progress: Progress | None) -> None:
        self.directory = directory
        self.loader = loader
        self.progress = progress
        self.presentations: dict[tuple[str, str], _Presentation] = {}
        self.assessments: dict[int, tuple[_Presentation, int | None]] = {}
        self.tally = _Tally()

    def stage(self) -> None:
        missing = [name for name in FILES if not (self.directory / name).is_file()]
        if missing:
            src = self.loader.add_source(str(self.directory))
            self.loader.report.bad(src, 0, f"missing OULAD files: {', '.join(missing)}")
            return
        self._courses()
        self._assessments()
        self._registrations()
        self._results()
        self._notes()

    # -- reading ---------------------------------------------------------------------------

    def _open(self, name: str, columns: tuple[str, ...]) -> tuple[int, Iterator[Row]]:
        """The file's source index, and (line, values in `columns` order) of each row."""
        src = self.loader.add_source(name)
        return src, self._rows(src, name, columns)

    def _rows(self, src: int, name: str, columns: tuple[str, ...]) -> Iterator[Row]:
        path = self.directory / name
        with path.open("rb") as raw:
            text = utf8_text(raw)
            reader = csv.reader(text)
            header = [h.strip() for h in next(reader, [])]
            absent = [c for c in columns if c not in header]
            if absent:
                self.loader.report.bad(src, 1, f"missing columns: {', '.join(absent)}")
                return
            pick = itemgetter(*(header.index(c) for c in columns))
            width = len(header)
            done = 0
            for row in reader:
                problem = "wrong number of fields" if len(row) != width else not_utf8(row)
                if problem:
                    if row:
                        self.loader.report.bad(src, reader.line_num, problem)
                    continue
                yield reader.line_num, pick(row)
                if self.progress is not None and reader.line_num % 20_000 == 0:
                    position = raw.tell()
                    self.progress(position - done)
                    done = position
            if self.progress is not None:
                self.progress(path.stat().st_size - done)
            text.detach()

    def _bad(self, src: int, line: int, reason: str) -> None:
        self.loader.report.bad(src, line, reason)

    # -- the files ---------------------------------------------------------------------------

    def _courses(self) -> None:
        courses: list[Staged] = []
        batches: list[Staged] = []
        seen: set[int] = set()
        src, rows = self._open(
            "courses.csv", ("code_module", "code_presentation", "module_presentation_length")
        )
        for line, (module, presentation, length) in rows:
            module, presentation = module.strip(), presentation.strip()
            try:
                cid, bid = course_id(module), batch_id(module, presentation)
                start = presentation_start(presentation)
                days = int(length)
            except ValueError as exc:
                self._bad(src, line, str(exc))
                continue
            begins = int(start.timestamp())
            order = int(presentation[:4]) * 2 + (presentation[4] == "J")
            self.presentations[(module, presentation)] = _Presentation(bid, cid, begins, order)
            if cid not in seen:
                seen.add(cid)
                courses.append((line, (cid, f"OULAD module {module}", BLENDED, "")))
            batches.append(
                (line, (bid, cid, f"{module} {presentation}", begins, begins + days * DAY, None))
            )
        self.loader.stage(COURSES, src, courses)
        self.loader.stage(BATCHES, src, batches)
        modules = [
            (0, (p.batch_id, p.course_id, p.batch_id, "Assessments", "", 0))
            for p in self.presentations.values()
        ]
        self.loader.stage(MODULES, src, modules)

    def _presentation(self, src: int, line: int, module: str, code: str) -> _Presentation | None:
        found = self.presentations.get((module, code))
        if found is None:
            self._bad(src, line, f"presentation {module} {code} is not in courses.csv")
        return found

    def _assessments(self) -> None:
        rows: list[Staged] = []
        src, lines = self._open(
            "assessments.csv",
            (
                "code_module",
                "code_presentation",
                "id_assessment",
                "assessment_type",
                "date",
                "weight",
            ),
        )
        for line, (module, code, ident, kind, day, weight) in lines:
            module, code, kind = module.strip(), code.strip(), kind.strip()
            presentation = self._presentation(src, line, module, code)
            if presentation is None:
                continue
            try:
                entity = _positive(ident, "id_assessment")
                mandatory = Decimal(weight) > 0
                due = int(day) if day else None
            except (ValueError, InvalidOperation):
                self._bad(src, line, "id_assessment, date and weight must be numbers")
                continue
            if kind not in ENTITY_TYPES:
                self._bad(src, line, f"assessment_type {kind!r} is not TMA, CMA or Exam")
                continue
            if due is None:
                self.tally.assessments_without_date += 1
            self.assessments[entity] = (presentation, due)
            name = f"{kind} {entity}" + (f" (day {due})" if due is not None else "")
            rows.append(
                (
                    line,
                    (
                        entity,
                        presentation.batch_id,
                        ENTITY_TYPES[kind],
                        name,
                        mandatory,
                        True,
                        MAX_MARKS,
                    ),
                )
            )
        self.loader.stage(ENTITIES, src, rows)

    def _registrations(self) -> None:
        """Students and their enrolments. A set date_unregistration ends the enrolment; a later
        presentation of the same module ends the earlier enrolment when it begins."""
        by_student: dict[tuple[int, str], list[_Registration]] = {}
        learners: list[Staged] = []
        seen: set[int] = set()
        src, lines = self._open(
            "studentRegistration.csv",
            (
                "code_module",
                "code_presentation",
                "id_student",
                "date_registration",
                "date_unregistration",
            ),
        )
        for line, (module, code, student, registered, unregistered) in lines:
            module, code = module.strip(), code.strip()
            presentation = self._presentation(src, line, module, code)
            if presentation is None:
                continue
            try:
                learner = _positive(student, "id_student")
                reg = int(registered) if registered else None
                unreg = int(unregistered) if unregistered else None
            except ValueError:
                self._bad(src, line, "id_student and the dates must be integers")
                continue
            if learner not in seen:
                seen.add(learner)
                learners.append((line, (learner, f"Student {learner}", None, "", None, True)))
            if reg is None:
                self.tally.no_registration_date += 1
            enrolled = presentation.start + (reg or 0) * DAY
            ended = None if unreg is None else max(presentation.start + unreg * DAY, enrolled)
            if ended is not None:
                self.tally.unregistered += 1
            by_student.setdefault((learner, module), []).append(
                (presentation.order, line, enrolled, ended, presentation)
            )
        self.loader.stage(LEARNERS, src, learners)
        rows: list[Staged] = []
        for (learner, _module), registrations in by_student.items():
            registrations.sort(key=lambda r: (r[0], r[1]))
            for i, (_order, line, enrolled, ended, presentation) in enumerate(registrations):
                if i + 1 < len(registrations):
                    following = registrations[i + 1][2]
                    if ended is None or following < ended:
                        ended = max(following, enrolled)
                        self.tally.replaced += 1
                if ended is not None:
                    self.tally.ended.add((learner, presentation.batch_id))
                key = (learner, presentation.batch_id)
                self.tally.enrolled[key] = max(enrolled, self.tally.enrolled.get(key, enrolled))
                rows.append(
                    (
                        line,
                        (
                            learner,
                            presentation.course_id,
                            presentation.batch_id,
                            enrolled,
                            None,
                            ended,
                        ),
                    )
                )
        rows.sort()
        self.loader.stage(ENROLMENTS, src, rows)

    def _results(self) -> None:
        src, lines = self._open(
            "studentAssessment.csv",
            ("id_student", "id_assessment", "date_submitted", "is_banked", "score"),
        )

        # The hot loop (one turn per result): lookups by the assessment id as written.
        assessments = {
            str(k): (k, p.start, p.batch_id, due) for k, (p, due) in self.assessments.items()
        }
        ended, enrolled = self.tally.ended, self.tally.enrolled

        def completions() -> Iterator[Staged]:
            tally = self.tally
            for line, (student, ident, submitted, banked, score) in lines:
                found = assessments.get(ident) or assessments.get(ident.strip())
                try:
                    learner = int(student)
                    day = int(submitted) if submitted not in ("", "?") else None
                    if found is None:
                        raise LookupError(f"assessment {int(ident)} is not in assessments.csv")
                    if learner <= 0:
                        raise ValueError
                except ValueError:
                    self._bad(
                        src, line, "id_student, id_assessment and date_submitted must be integers"
                    )
                    continue
                except LookupError as exc:
                    self._bad(src, line, str(exc.args[0]))
                    continue
                entity, start, batch, due = found
                if day is None:
                    tally.results_without_date += 1
                    if due is None:
                        tally.results_without_any_date += 1
                        continue
                    day = due
                marks: str | None = None
                if score.isdigit():
                    marks = str(int(score))  # whole numbers but for a few
                elif score in ("", "?"):
                    tally.results_without_score += 1
                else:
                    try:
                        marks = canonical_marks(score)
                    except ValueError:
                        self._bad(src, line, f"score {score!r} is not a number >= 0")
                        continue
                if banked == "1":
                    tally.banked += 1
                if (learner, batch) in ended:
                    tally.results_of_ended += 1
                at = start + day * DAY
                # A completion may not be dated before its enrolment's day (banked results are
                # submitted before the registration): it counts from the enrolment day.
                registered = enrolled.get((learner, batch))
                if registered is not None and at < registered:
                    tally.results_before_registration += 1
                    at = registered
                yield line, (learner, entity, at, marks)

        self.loader.stage(COMPLETIONS, src, completions())

    def _notes(self) -> None:
        t = self.tally
        self.loader.report.notes.extend(
            [
                f"{t.no_registration_date} registrations without date_registration: enrolled on "
                "the first day of their presentation.",
                f"{t.unregistered} registrations with date_unregistration: the enrolment ended "
                "that day and is no longer listed.",
                f"{t.replaced} enrolments ended when a later presentation of the same module "
                "began (the later one replaces them).",
                f"{t.assessments_without_date} assessments without a date: loaded all the same "
                "(their name shows the due day when there is one).",
                f"{t.results_without_score} results without a score ('?'): completions without "
                "a score.",
                f"{t.results_without_date} results without date_submitted: completed on the "
                f"assessment's date; {t.results_without_any_date} of them had no date at all "
                "and were left out.",
                f"{t.banked} banked results (carried over from an earlier presentation): "
                "completions like the others.",
                f"{t.results_before_registration} results submitted before the student's "
                "registration (banked ones): completed on the enrolment day, as a completion "
                "may not be dated before its enrolment's day.",
                f"{t.results_of_ended} results belong to enrolments that ended: kept with "
                "them, not counted in any listed progress.",
            ]
        )


def _positive(text: str, what: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(f"{what} must be positive")
    return value


def load_oulad(
    engine: Engine,
    directory: Path,
    *,
    now: int | None = None,
    zone: tzinfo = UTC,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> Report:
    """Load the OULAD files of `directory` in one transaction (all or nothing, idempotent);
    `zone` is the organisation's."""

    def stage(loader: Loader) -> None:
        OuladFiles(directory, loader, progress).stage()

    return run(engine, stage, now=now, zone=zone, dry_run=dry_run)


def oulad_bytes(directory: Path) -> int:
    return sum((directory / name).stat().st_size for name in FILES if (directory / name).exists())
