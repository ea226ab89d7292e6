"""The bulk writer: stage, check, merge and recount, all in one transaction.

Rows are streamed into temporary staging tables with `executemany` of plain tuples on the DBAPI
connection; every check that needs the store is then one set-based statement per rule, and each
kind is merged with one `INSERT ... SELECT`. Any bad row rolls the whole transaction back, so the
store is as before; a killed process never commits. The totals of every enrolment the import
touched are recounted at the end (`recount.py`: the rule of `learning/totals.py`, set-based).

Records that exist already must be equal to the file's (then they count as "present" and nothing
is written); an import adds, it never changes a record. Completions are idempotent like the API's:
the first completion of an entity in an enrolment is kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from decimal import Decimal
from functools import partial
from typing import IO, Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from lms_progress.ids import new_id
from lms_progress.importer.reader import BadRow, read_rows
from lms_progress.importer.records import KINDS, Kind
from lms_progress.importer.recount import recount
from lms_progress.progress.rules import format_date, local_date

log = logging.getLogger(__name__)

CHUNK = 10_000

# Columns each staging table has beyond the kind's own.
_STAGE_BASE = "seq BIGINT PRIMARY KEY, src INTEGER NOT NULL, line BIGINT NOT NULL"
_EXTRA: dict[str, tuple[tuple[str, str], ...]] = {
    "enrolments": (("enrolment_id", "BIGINT"), ("is_new", "BOOLEAN NOT NULL DEFAULT TRUE")),
    "learners": (("is_new", "BOOLEAN NOT NULL DEFAULT FALSE"),),
    "entities": (("is_new", "BOOLEAN NOT NULL DEFAULT FALSE"),),
    "completions": (("course_id", "BIGINT"), ("batch_id", "BIGINT"), ("enrolment_id", "BIGINT")),
    "evaluations": (("enrolment_id", "BIGINT"),),
}
_STAGED_VALUES: dict[str, Callable[[], tuple[Any, ...]]] = {
    # A new enrolment's id, used when no equal enrolment exists already.
    "enrolments": lambda: (new_id(),),
}


@dataclass(slots=True)
class Count:
    read: int = 0
    added: int = 0
    present: int = 0


@dataclass(slots=True)
class Report:
    sources: list[str] = field(default_factory=list)
    counts: dict[str, Count] = field(default_factory=lambda: {k: Count() for k in KINDS})
    errors: list[BadRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recounted: int = 0
    committed: bool = False
    seconds: float = 0.0

    def bad(self, src: int, line: int, reason: str) -> None:
        self.errors.append(BadRow(self.sources[src], line, reason))

    def sorted_errors(self) -> list[BadRow]:
        order = {name: i for i, name in enumerate(self.sources)}
        return sorted(self.errors, key=lambda e: (order.get(e.source, 0), e.line))

    def as_dict(self) -> dict[str, Any]:
        return {
            "committed": self.committed,
            "seconds": round(self.seconds, 3),
            "records": {
                kind: {"read": c.read, "added": c.added, "present": c.present}
                for kind, c in self.counts.items()
                if c.read
            },
            "recountedEnrolments": self.recounted,
            "errors": [
                {"file": e.source, "line": e.line, "reason": e.reason} for e in self.sorted_errors()
            ],
            "notes": self.notes,
        }


class Loader:
    """One import inside the caller's transaction on `connection`."""

    def __init__(self, connection: Connection, *, now: int, zone: tzinfo = UTC) -> None:
        self.connection = connection
        self.now = now
        # The organisation's time zone: the calendar on which a completion's day is compared.
        self.zone = zone
        self.sqlite = connection.dialect.name == "sqlite"
        self.cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        self.report = Report()
        # What is being staged or merged: names the part of the import a store error stopped.
        self.step = "import"
        self._seq = 0
        self._indexed: set[str] = set()
        for kind in KINDS.values():
            self._create_stage(kind)
        self._run("DROP TABLE IF EXISTS import_touched")
        self._run("CREATE TEMP TABLE import_touched (enrolment_id BIGINT PRIMARY KEY)")
        if self.sqlite:
            # Rows may refer to rows later in the same statement (a learner's manager).
            self._run("PRAGMA defer_foreign_keys = ON")

    # -- SQL helpers -------------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text if self.sqlite else text.replace("?", "%s")

    def _run(self, text: str, params: Iterable[Any] = ()) -> int:
        self.cursor.execute(self._sql(text), tuple(params))
        return int(self.cursor.rowcount)

    def _all(self, text: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(self._sql(text), tuple(params))
        return list(self.cursor.fetchall())

    def _same(self, a: str, b: str) -> str:
        return f"{a} IS {b}" if self.sqlite else f"{a} IS NOT DISTINCT FROM {b}"

    def _create_stage(self, kind: Kind) -> None:
        columns = [f"{c.name} {c.sql_type}" for c in kind.columns]
        columns += [f"{name} {sql_type}" for name, sql_type in _EXTRA.get(kind.name, ())]
        self._run(f"DROP TABLE IF EXISTS import_{kind.name}")
        self._run(
            f"CREATE TEMP TABLE import_{kind.name} ({_STAGE_BASE}, "
            f"bad BOOLEAN NOT NULL DEFAULT FALSE, {', '.join(columns)})"
        )

    # -- staging -----------------------------------------------------------------------------

    def add_source(self, name: str) -> int:
        self.report.sources.append(name)
        return len(self.report.sources) - 1

    def stage(
        self,
        kind: Kind,
        src: int,
        rows: Iterable[tuple[int, tuple[Any, ...]]],
        tick: Callable[[], None] | None = None,
    ) -> None:
        """Write `(line, values)` rows into the kind's staging table, a chunk at a time."""
        self.step = self.report.sources[src]
        extra = _STAGED_VALUES.get(kind.name)
        names = ["seq", "src", "line", *kind.names]
        if extra is not None:
            names += [name for name, _ in _EXTRA[kind.name]][: len(extra())]
        write = self._writer(f"import_{kind.name}", names)
        count = self.report.counts[kind.name]
        chunk: list[tuple[Any, ...]] = []
        seq = self._seq
        for line, values in rows:
            seq += 1
            staged = (seq, src, line, *values)
            chunk.append(staged + extra() if extra is not None else staged)
            if len(chunk) >= CHUNK:
                write(chunk)
                count.read += len(chunk)
                chunk.clear()
                if tick is not None:
                    tick()
        if chunk:
            write(chunk)
            count.read += len(chunk)
        self._seq = seq
        if not self.sqlite:
            # Temporary tables are never analysed automatically; the checks' plans need it.
            self._run(f"ANALYZE import_{kind.name}")

    def _writer(self, target: str, names: list[str]) -> Callable[[list[tuple[Any, ...]]], None]:
        """Rows into `target`: executemany on SQLite, COPY on PostgreSQL (its fastest path)."""
        columns = ", ".join(names)
        if self.sqlite:
            insert = f"INSERT INTO {target} ({columns}) VALUES ({', '.join('?' * len(names))})"
            return lambda chunk: self.cursor.executemany(insert, chunk)

        def copy(chunk: list[tuple[Any, ...]]) -> None:
            with self.cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as stream:
                for row in chunk:
                    stream.write_row(row)

        return copy

    # -- checks ------------------------------------------------------------------------------

    def _reject(self, kind: str, query: str, reason: Callable[[tuple[Any, ...]], str]) -> None:
        """Mark bad the staged rows that `query` returns as (seq, src, line, *details)."""
        self._mark_bad(kind, [(*row[:3], reason(row[3:])) for row in self._all(query)])

    def _mark_bad(self, kind: str, rows: list[tuple[int, int, int, str]]) -> None:
        """Report the staged rows (seq, src, line, reason) and mark them bad."""
        for _seq, src, line, reason in rows:
            self.report.bad(src, line, reason)
        if rows:
            self.cursor.executemany(
                self._sql(f"UPDATE import_{kind} SET bad = TRUE WHERE seq = ?"),
                [(row[0],) for row in rows],
            )

    def _rejected_unless(self, kind: str, condition: str, reason: Callable[..., str]) -> None:
        """Reject the good staged rows `s` of `kind` that match `condition`."""
        # _reject passes what follows seq, src, line: s.*, which starts with seq, src, line, bad.
        self._reject(
            kind,
            f"SELECT s.seq, s.src, s.line, s.* FROM import_{kind} s "
            f"WHERE s.bad = FALSE AND ({condition})",
            lambda row: reason(row[4:]),
        )

    def _index(self, kind: str, *columns: str) -> None:
        name = f"import_{kind}_{'_'.join(columns)}"
        if name not in self._indexed:
            self._indexed.add(name)
            self._run(f"CREATE INDEX {name} ON import_{kind} ({', '.join(columns)})")

    # -- merging -----------------------------------------------------------------------------

    def merge(self) -> None:
        """Check and write every kind, in dependency order; then recount the totals."""
        if not self.sqlite:
            # The API's writes that change totals each lock their course row first
            # (`totals.lock_course`); this waits for those under way and holds off new ones until
            # the import commits, so that its checks and recount see a store nobody else changes.
            # Reads go on. (SQLite: the import's BEGIN IMMEDIATE does the same.)
            self._run("LOCK TABLE courses IN EXCLUSIVE MODE")
        for kind in KINDS.values():
            if self.report.counts[kind.name].read:
                self.step = kind.name
                getattr(self, f"_merge_{kind.name}")(kind)
        self.step = "recount"
        self.recount()
        for kind in KINDS.values():
            self._run(f"DROP TABLE import_{kind.name}")
        self._run("DROP TABLE import_touched")

    def _merge_by_id(self, kind: Kind, target: str) -> None:
        """Kinds with their own id: no id twice in the import; an existing record must be equal."""
        name = kind.name
        self._index(name, "id")
        singular = kind.singular
        self._rejected_unless(
            name,
            f"EXISTS (SELECT 1 FROM import_{name} t WHERE t.id = s.id AND t.seq < s.seq)",
            lambda r: f"{singular} {r[0]} is given twice in this import",
        )
        equal = " AND ".join(self._same(f"t.{c}", f"s.{c}") for c in kind.names if c != "id")
        self._rejected_unless(
            name,
            f"EXISTS (SELECT 1 FROM {target} t WHERE t.id = s.id AND NOT ({equal}))",
            lambda r: (
                f"{singular} {r[0]} exists with other values (an import adds records, "
                "it does not change them)"
            ),
        )

    def _write_by_id(self, kind: Kind, target: str, insert_select: str) -> None:
        name = kind.name
        count = self.report.counts[name]
        count.present = self._all(
            f"SELECT COUNT(*) FROM import_{name} s JOIN {target} t ON t.id = s.id "
            "WHERE s.bad = FALSE"
        )[0][0]
        count.added = self._run(
            f"INSERT INTO {target} {insert_select} WHERE s.bad = FALSE AND NOT EXISTS "
            f"(SELECT 1 FROM {target} t WHERE t.id = s.id) ORDER BY s.id",
            (self.now,),
        )

    def _mark_new(self, kind: Kind, target: str) -> None:
        """is_new: the good staged rows with no record of their id in the store yet."""
        self._run(
            f"UPDATE import_{kind.name} SET is_new = TRUE WHERE bad = FALSE AND NOT EXISTS "
            f"(SELECT 1 FROM {target} t WHERE t.id = import_{kind.name}.id)"
        )

    def _deactivated(self, learner: str) -> str:
        """SQL: the learner was deactivated in the store before this import, so that, as in the
        API, they can be neither enrolled nor credited. A learner this import creates deactivated
        brings their history with them (as if enrolled and credited, then deactivated)."""
        return (
            f"EXISTS (SELECT 1 FROM learners dl WHERE dl.id = {learner} AND dl.active = FALSE) "
            f"AND NOT EXISTS (SELECT 1 FROM import_learners nl WHERE nl.id = {learner} "
            "AND nl.is_new = TRUE)"
        )

    def _plain_insert(self, kind: Kind) -> str:
        names = ", ".join(kind.names)
        picked = ", ".join(f"s.{c}" for c in kind.names)
        return f"({names}, created_at) SELECT {picked}, ? FROM import_{kind.name} s"

    def _merge_learners(self, kind: Kind) -> None:
        self._merge_by_id(kind, "learners")
        self._rejected_unless(
            "learners",
            "s.manager_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM learners t WHERE "
            "t.id = s.manager_id) AND NOT EXISTS (SELECT 1 FROM import_learners t WHERE "
            "t.id = s.manager_id AND t.bad = FALSE)",
            lambda r: f"manager {r[4]} not found",
        )
        self._mark_new(kind, "learners")
        self._write_by_id(kind, "learners", self._plain_insert(kind))

    def _merge_courses(self, kind: Kind) -> None:
        self._merge_by_id(kind, "courses")
        self._write_by_id(kind, "courses", self._plain_insert(kind))

    def _merge_batches(self, kind: Kind) -> None:
        self._merge_by_id(kind, "batches")
        self._course_exists("batches")
        self._rejected_unless(
            "batches",
            "EXISTS (SELECT 1 FROM courses c WHERE c.id = s.course_id AND c.type <> 2)",
            lambda r: f"course {r[1]} is not blended (type 2): only blended courses have batches",
        )
        self._write_by_id(kind, "batches", self._plain_insert(kind))

    def _merge_modules(self, kind: Kind) -> None:
        self._merge_by_id(kind, "modules")
        self._course_exists("modules")
        self._rejected_unless(
            "modules",
            "s.batch_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM batches b "
            "WHERE b.id = s.batch_id AND b.course_id = s.course_id)",
            lambda r: f"batch {r[2]} not found in course {r[1]}",
        )
        self._write_by_id(kind, "modules", self._plain_insert(kind))

    def _merge_entities(self, kind: Kind) -> None:
        self._merge_by_id(kind, "entities")
        self._rejected_unless(
            "entities",
            "NOT EXISTS (SELECT 1 FROM modules m WHERE m.id = s.module_id)",
            lambda r: f"module {r[1]} not found",
        )
        self._rejected_unless(
            "entities",
            "s.entity_type = 5 AND EXISTS (SELECT 1 FROM modules m JOIN courses c "
            "ON c.id = m.course_id WHERE m.id = s.module_id AND c.type <> 2)",
            lambda r: f"entity {r[0]}: sessions belong to blended courses (type 2) only",
        )
        self._mark_new(kind, "entities")
        names = ", ".join(kind.names)
        picked = ", ".join(f"s.{c}" for c in kind.names)
        self._write_by_id(
            kind,
            "entities",
            f"({names}, course_id, batch_id, deleted, created_at) "
            f"SELECT {picked}, m.course_id, m.batch_id, FALSE, ? "
            "FROM import_entities s JOIN modules m ON m.id = s.module_id",
        )
        # New published entities change the totals of every active enrolment of their course.
        self._run(
            "INSERT INTO import_touched (enrolment_id) SELECT e.id FROM enrolments e "
            "WHERE e.ended_at IS NULL AND e.course_id IN (SELECT m.course_id FROM "
            "import_entities s JOIN modules m ON m.id = s.module_id WHERE s.bad = FALSE "
            "AND s.is_new = TRUE AND s.published = TRUE) ON CONFLICT DO NOTHING"
        )

    def _course_exists(self, name: str) -> None:
        self._rejected_unless(
            name,
            "NOT EXISTS (SELECT 1 FROM courses c WHERE c.id = s.course_id)",
            lambda r: f"course {r[1]} not found",
        )

    def _merge_enrolments(self, _kind: Kind) -> None:
        self._rejected_unless(
            "enrolments",
            "NOT EXISTS (SELECT 1 FROM learners t WHERE t.id = s.learner_id)",
            lambda r: f"learner {r[0]} not found",
        )
        self._rejected_unless(
            "enrolments",
            "NOT EXISTS (SELECT 1 FROM courses c WHERE c.id = s.course_id)",
            lambda r: f"course {r[1]} not found",
        )
        self._rejected_unless(
            "enrolments",
            "s.batch_id IS NULL AND EXISTS (SELECT 1 FROM courses c "
            "WHERE c.id = s.course_id AND c.type = 2)",
            lambda r: f"course {r[1]} is blended: batch_id is required",
        )
        self._rejected_unless(
            "enrolments",
            "s.batch_id IS NOT NULL AND EXISTS (SELECT 1 FROM courses c "
            "WHERE c.id = s.course_id AND c.type <> 2)",
            lambda r: f"course {r[1]} is not blended (type 2): it takes no batch_id",
        )
        self._rejected_unless(
            "enrolments",
            "s.batch_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM batches b "
            "WHERE b.id = s.batch_id AND b.course_id = s.course_id)",
            lambda r: f"batch {r[2]} not found in course {r[1]}",
        )
        self._index("enrolments", "learner_id", "course_id", "enrolled_at")
        self._rejected_unless(
            "enrolments",
            "EXISTS (SELECT 1 FROM import_enrolments t WHERE t.learner_id = s.learner_id "
            "AND t.course_id = s.course_id AND t.enrolled_at = s.enrolled_at AND t.seq < s.seq)",
            lambda r: f"learner {r[0]} is enrolled in course {r[1]} at that time by an earlier row",
        )
        # The same enrolment (learner, course, time) in the store: take its id.
        # One pass over the store's enrolments, each looked up in the staged ones by index (the
        # store has no index that would find ended enrolments by learner).
        self._run("DROP TABLE IF EXISTS import_matches")
        self._run(
            "CREATE TEMP TABLE import_matches AS SELECT s.seq AS seq, e.id AS id "
            f"FROM enrolments e {'CROSS JOIN' if self.sqlite else 'JOIN'} import_enrolments s "
            "ON s.learner_id = e.learner_id AND s.course_id = e.course_id "
            "AND s.enrolled_at = e.enrolled_at WHERE s.bad = FALSE"
        )
        self._run(
            "UPDATE import_enrolments SET enrolment_id = m.id, is_new = FALSE "
            "FROM import_matches m WHERE m.seq = import_enrolments.seq"
        )
        self._run("DROP TABLE import_matches")
        self._rejected_unless(
            "enrolments",
            "s.is_new = FALSE AND EXISTS (SELECT 1 FROM enrolments e WHERE e.id = s.enrolment_id "
            f"AND NOT ({self._same('e.batch_id', 's.batch_id')} "
            f"AND {self._same('e.ended_at', 's.ended_at')}))",
            lambda r: (
                f"learner {r[0]}'s enrolment in course {r[1]} at that time exists with "
                "another batch or end (an import adds records, it does not change them)"
            ),
        )
        self._rejected_unless(
            "enrolments",
            f"s.is_new = TRUE AND {self._deactivated('s.learner_id')}",
            lambda r: (
                f"learner {r[0]} is deactivated: a deactivated learner cannot be enrolled "
                "(reactivate them first, as in the API)"
            ),
        )
        self._rejected_unless(
            "enrolments",
            "s.is_new = TRUE AND s.ended_at IS NULL AND (EXISTS (SELECT 1 FROM enrolments e "
            "WHERE e.learner_id = s.learner_id AND e.course_id = s.course_id "
            "AND e.ended_at IS NULL) OR EXISTS (SELECT 1 FROM import_enrolments t "
            "WHERE t.learner_id = s.learner_id AND t.course_id = s.course_id AND t.bad = FALSE "
            "AND t.is_new = TRUE AND t.ended_at IS NULL AND t.seq < s.seq))",
            lambda r: (
                f"learner {r[0]} is already enrolled in course {r[1]} "
                "(one active enrolment per course: end the other one first)"
            ),
        )
        self._started_not_before_enrolment_day()
        count = self.report.counts["enrolments"]
        count.present = self._all(
            "SELECT COUNT(*) FROM import_enrolments WHERE bad = FALSE AND is_new = FALSE"
        )[0][0]
        count.added = self._run(
            "INSERT INTO enrolments (id, learner_id, course_id, batch_id, enrolled_at, "
            "started_at, ended_at) SELECT enrolment_id, learner_id, course_id, batch_id, "
            "enrolled_at, started_at, ended_at FROM import_enrolments "
            "WHERE bad = FALSE AND is_new = TRUE ORDER BY enrolment_id"
        )
        self._run(
            "INSERT INTO import_touched (enrolment_id) SELECT enrolment_id FROM import_enrolments "
            "WHERE bad = FALSE AND is_new = TRUE ON CONFLICT DO NOTHING"
        )
        self._index("enrolments", "learner_id", "course_id")

    def _enrolment_of(self, learner: str, course: str, batch: str | None) -> str:
        """SQL for the id of the learner's enrolment in the course (and batch, when `batch` is
        not NULL): the latest one of this import, else the active one in the store."""
        in_batch = "" if batch is None else f"AND ({batch} IS NULL OR {{e}}.batch_id = {batch})"
        store = (
            f"(SELECT e.id FROM enrolments e WHERE e.learner_id = {learner} "
            f"AND e.course_id = {course} AND e.ended_at IS NULL {in_batch.format(e='e')})"
        )
        if not self.report.counts["enrolments"].read:
            return store
        staged = (
            "(SELECT se.enrolment_id FROM import_enrolments se WHERE se.bad = FALSE "
            f"AND se.learner_id = {learner} AND se.course_id = {course} "
            f"{in_batch.format(e='se')} ORDER BY se.enrolled_at DESC LIMIT 1)"
        )
        return f"COALESCE({staged}, {store})"

    def _merge_completions(self, _kind: Kind) -> None:
        # The entity's course and batch, and the enrolment the completion belongs to: each staged
        # row is written once.
        enrolment = self._enrolment_of(
            "import_completions.learner_id", "en.course_id", "en.batch_id"
        )
        self._run(
            "UPDATE import_completions SET (course_id, batch_id, enrolment_id) = "
            f"(SELECT en.course_id, en.batch_id, {enrolment} FROM entities en "
            "WHERE en.id = import_completions.entity_id AND en.deleted = FALSE)"
        )
        self._rejected_unless(
            "completions", "s.course_id IS NULL", lambda r: f"entity {r[1]} not found"
        )
        self._rejected_unless(
            "completions",
            "EXISTS (SELECT 1 FROM entities en WHERE en.id = s.entity_id AND en.published = FALSE)",
            lambda r: f"entity {r[1]} is not published",
        )
        self._rejected_unless(
            "completions",
            "s.enrolment_id IS NULL",
            lambda r: (
                f"learner {r[0]} is not enrolled in course {r[4]}"
                + (f" (batch {r[5]})" if r[5] is not None else "")
            ),
        )
        # A completion stored already is "already present" whoever its learner is now.
        self._rejected_unless(
            "completions",
            f"{self._deactivated('s.learner_id')} AND NOT EXISTS (SELECT 1 FROM "
            "entity_completions c WHERE c.enrolment_id = s.enrolment_id "
            "AND c.entity_id = s.entity_id)",
            lambda r: (
                f"learner {r[0]} is deactivated: a deactivated learner cannot be credited with "
                "a completion (reactivate them first, as in the API)"
            ),
        )
        self._score_within_maximum()
        self._not_before_enrolment_day()
        count = self.report.counts["completions"]
        good = self._all("SELECT COUNT(*) FROM import_completions WHERE bad = FALSE")[0][0]
        # The first completion of an entity in an enrolment is kept: later ones, in the store or
        # in this import, change nothing.
        count.added = self._run(
            "INSERT INTO entity_completions (enrolment_id, entity_id, completed_at, score) "
            "SELECT enrolment_id, entity_id, completed_at, score FROM import_completions "
            "WHERE bad = FALSE ORDER BY enrolment_id, entity_id, seq ON CONFLICT DO NOTHING"
        )
        count.present = good - count.added
        if count.added:
            self._run(
                "INSERT INTO import_touched (enrolment_id) SELECT DISTINCT enrolment_id "
                "FROM import_completions WHERE bad = FALSE ON CONFLICT DO NOTHING"
            )

    def _score_within_maximum(self) -> None:
        """A score is not above its entity's maximum marks, as in the API. Marks are decimal
        strings: SQL compares them as floating point, with a margin, to find every candidate
        (few: scores near the maximum), and Decimal decides exactly."""
        real = "REAL" if self.sqlite else "DOUBLE PRECISION"
        rows = self._all(
            "SELECT s.seq, s.src, s.line, s.score, en.max_marks, s.entity_id "
            "FROM import_completions s JOIN entities en ON en.id = s.entity_id "
            "WHERE s.bad = FALSE AND s.score IS NOT NULL AND en.max_marks IS NOT NULL "
            f"AND CAST(s.score AS {real}) >= CAST(en.max_marks AS {real}) * 0.999999"
        )
        self._mark_bad(
            "completions",
            [
                (
                    seq,
                    src,
                    line,
                    f"score {score} is above the maximum marks of entity {entity} ({maximum})",
                )
                for seq, src, line, score, maximum, entity in rows
                if Decimal(score) > Decimal(maximum)
            ],
        )

    def _started_not_before_enrolment_day(self) -> None:
        """A new enrolment's start is not on a day before its enrolment's, as in the API."""
        self._not_on_a_day_before_enrolment(
            "enrolments",
            "started_at",
            "SELECT seq, src, line, started_at, enrolled_at, learner_id, course_id "
            "FROM import_enrolments WHERE bad = FALSE AND is_new = TRUE "
            "AND started_at < enrolled_at",
        )

    def _not_before_enrolment_day(self) -> None:
        """A new completion is not dated on a day before its enrolment's, as in the API (a
        completion stored already is present, whatever its date)."""
        self._not_on_a_day_before_enrolment(
            "completions",
            "completed_at",
            "SELECT s.seq, s.src, s.line, s.completed_at, e.enrolled_at, s.learner_id, "
            "e.course_id FROM import_completions s JOIN enrolments e ON e.id = s.enrolment_id "
            "WHERE s.bad = FALSE AND s.completed_at < e.enrolled_at AND NOT EXISTS (SELECT 1 "
            "FROM entity_completions c WHERE c.enrolment_id = s.enrolment_id "
            "AND c.entity_id = s.entity_id)",
        )

    def _not_on_a_day_before_enrolment(self, kind: str, column: str, candidates: str) -> None:
        """Mark bad the rows whose `column` falls on a calendar day (in the organisation's zone)
        before their enrolment's: the row would read started or completed before enrolled. SQL
        finds the candidates (before the enrolment's instant), the zone's calendar decides.
        `candidates` selects seq, src, line, the instant, enrolled_at, learner and course."""
        early = []
        for seq, src, line, instant, enrolled_at, learner, course in self._all(candidates):
            day, enrolled = local_date(instant, self.zone), local_date(enrolled_at, self.zone)
            if day < enrolled:
                reason = (
                    f"{column} ({format_date(day)}) is on a day before learner {learner}'s "
                    f"enrolment in course {course} ({format_date(enrolled)})"
                )
                early.append((seq, src, line, reason))
        self._mark_bad(kind, early)

    def _merge_evaluations(self, _kind: Kind) -> None:
        enrolment = self._enrolment_of(
            "import_evaluations.learner_id", "import_evaluations.course_id", None
        )
        self._run(f"UPDATE import_evaluations SET enrolment_id = {enrolment}")
        self._rejected_unless(
            "evaluations",
            "s.enrolment_id IS NULL",
            lambda r: f"learner {r[0]} is not enrolled in course {r[1]}",
        )
        self._rejected_unless(
            "evaluations",
            "s.evaluated_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM learners t "
            "WHERE t.id = s.evaluated_by)",
            lambda r: f"evaluator {r[5]} not found",
        )
        self._index("evaluations", "enrolment_id")
        self._rejected_unless(
            "evaluations",
            "EXISTS (SELECT 1 FROM import_evaluations t WHERE t.enrolment_id = s.enrolment_id "
            "AND t.seq < s.seq)",
            lambda r: f"learner {r[0]} in course {r[1]} is evaluated twice in this import",
        )
        self._rejected_unless(
            "evaluations",
            "EXISTS (SELECT 1 FROM manager_evaluations m WHERE m.enrolment_id = s.enrolment_id "
            "AND NOT (m.awarded_marks = s.awarded_marks AND m.maximum_marks = s.maximum_marks))",
            lambda r: (
                f"learner {r[0]} in course {r[1]} has another evaluation already "
                "(an import adds records, it does not change them)"
            ),
        )
        count = self.report.counts["evaluations"]
        count.added = self._run(
            "INSERT INTO manager_evaluations (enrolment_id, awarded_marks, maximum_marks, "
            "evaluated_by, evaluated_at) SELECT enrolment_id, awarded_marks, maximum_marks, "
            "evaluated_by, evaluated_at FROM import_evaluations s WHERE s.bad = FALSE "
            "AND NOT EXISTS (SELECT 1 FROM manager_evaluations m "
            "WHERE m.enrolment_id = s.enrolment_id)"
        )
        count.present = (
            self._all("SELECT COUNT(*) FROM import_evaluations WHERE bad = FALSE")[0][0]
            - count.added
        )

    # -- totals ------------------------------------------------------------------------------

    def recount(self) -> None:
        """Make the totals of every touched enrolment true (`recount.py`, the rule of
        `learning/totals.py` in set-based form)."""
        self.report.recounted = self._all("SELECT COUNT(*) FROM import_touched")[0][0]
        if self.report.recounted and not self.report.errors:
            recount(self.cursor, sqlite=self.sqlite)


# -- running an import -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """One file (or request body) of one kind of record."""

    name: str
    kind: Kind
    fmt: str
    open: Callable[[], AbstractContextManager[IO[bytes]]]
    size: int | None = None


Progress = Callable[[int], None]


class StoreUnavailable(Exception):
    """The store failed during an import (down, restarting, busy past its timeout): nothing was
    written, and the same import may be run again."""


def run(
    engine: Engine,
    stage: Callable[[Loader], None],
    *,
    now: int | None = None,
    zone: tzinfo = UTC,
    dry_run: bool = False,
) -> Report:
    """One import in one transaction: `stage` fills the loader, then every row is checked and
    merged; `zone` is the organisation's. Committed only when no row is bad (and not a dry run).

    Every value is checked before it reaches the store, so the store should refuse nothing; if it
    does all the same (a constraint we do not check, a concurrent write), the import is rolled back
    and the refusal is one more bad row. A failing store raises `StoreUnavailable`."""
    started = time.perf_counter()
    loader: Loader | None = None
    try:
        with bulk_connection(engine) as connection, connection.begin() as transaction:
            loader = Loader(connection, now=int(time.time()) if now is None else now, zone=zone)
            stage(loader)
            loader.merge()
            report = loader.report
            report.seconds = time.perf_counter() - started
            if report.errors or dry_run:
                transaction.rollback()
            else:
                transaction.commit()
                report.committed = True
        return report
    except Exception as exc:
        refusal = _store_refusal(engine, exc)
        if refusal is None:
            raise
        refused, message = refusal
        step = loader.step if loader is not None else "import"
        if not refused:
            log.warning("store failed during an import (%s): %s", step, message)
            raise StoreUnavailable(
                f"the store failed during the import ({message}); nothing was written"
            ) from exc
        log.info("store refused an import (%s): %s", step, message)
        report = loader.report if loader is not None else Report()
        report.errors.append(BadRow(step, 0, f"the store refused the data: {message}"))
        report.committed = False
        report.seconds = time.perf_counter() - started
        return report


def _store_refusal(engine: Engine, exc: BaseException) -> tuple[bool, str] | None:
    """(refused, first line of the message) for an error of the store: refused when it is the
    data (a constraint, a value it cannot hold), not when the store itself failed. None when
    `exc` is not the store's."""
    dbapi = engine.dialect.loaded_dbapi
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    if not isinstance(cause, dbapi.Error):
        return None
    lines = str(cause).strip().splitlines()
    message = lines[0] if lines else type(cause).__name__
    invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
    refused = isinstance(cause, dbapi.DataError | dbapi.IntegrityError) and not invalidated
    return refused, message


def import_sources(
    engine: Engine,
    sources: list[Source],
    *,
    zone: tzinfo,
    now: int | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> Report:
    """Read, check and write `sources` in one transaction; nothing is written unless every row
    is good. `progress(bytes)` is called as the files are read."""

    def stage(loader: Loader) -> None:
        for source in sources:
            src = loader.add_source(source.name)
            with source.open() as stream:
                rows = read_rows(
                    source.kind,
                    stream,
                    source.fmt,
                    zone,
                    partial(loader.report.bad, src),
                    loader.now,
                )
                ticks = _ticker(stream, progress)
                loader.stage(source.kind, src, rows, ticks)
                ticks()

    return run(engine, stage, now=now, zone=zone, dry_run=dry_run)


def _ticker(stream: IO[bytes], progress: Progress | None) -> Callable[[], None]:
    done = 0

    def tick() -> None:
        nonlocal done
        if progress is not None:
            position = stream.tell()
            progress(position - done)
            done = position

    return tick


@contextmanager
def bulk_connection(engine: Engine) -> Iterator[Connection]:
    """A connection set up for one large transaction: on SQLite a 32 MB page cache (from 2 MB).
    Larger caches are no faster here, and the cache (with SQLite's sorter) is what bounds the
    import's memory, whatever the size of the file."""
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            cursor = raw.cursor()  # type: ignore[union-attr]
            cursor.execute("PRAGMA cache_size = -32768")
            cursor.close()
        try:
            yield connection
        finally:
            if sqlite and not connection.invalidated:
                cursor = raw.cursor()  # type: ignore[union-attr]
                cursor.execute("PRAGMA cache_size = -2000")
                cursor.close()
