"""Synthetic stores for the benchmarks, built through the project's own bulk import.

A store of `n` enrolments is generated as CSV files (learners, courses, batches, modules,
entities, enrolments, completions, evaluations), imported with `lms_progress.importer` in one
transaction like `lms-progress import`, and given API users with READ tokens for the load
generator. Each store is cached on disk under its size and the generator's version, so a re-run
starts at once; `meta.json` is written last and marks a finished build.

The shape, deterministic for a size:
- about one course per 500 enrolments (8 to 2,000); 60% self-paced, 20% blended (2-4 batches
  each), 20% e-material; 20 entities per enrolment's view of a course (a blended course has 15 of
  its own and 5 per batch, sessions among them), some optional, a few unpublished;
- learners take 1 to 7 courses (4 on average, popular courses more often); 2% take none;
- per enrolment: 15% yet to start, 5% started with nothing completed, 60% part-way (fewer
  completions more often), 20% completed; a third of the completed ones have a manager
  evaluation.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from lms_progress.auth.tokens import (
    Operation,
    create_token,
    ensure_user,
    generate_token,
    hash_token,
)
from lms_progress.ids import new_id
from lms_progress.importer.load import Source, import_sources
from lms_progress.importer.records import KINDS
from lms_progress.store import migrate
from lms_progress.store.engine import make_engine
from lms_progress.store.schema import api_tokens, api_users

# Bump when the generated data changes: cached stores of another version are rebuilt.
VERSION = 1

ANCHOR = 1_764_547_200  # 2025-12-01T00:00:00Z: generated enrolments start before it
# The import refuses completions in the future; the latest generated ones fall a few weeks
# after ANCHOR, so the import is told it runs a year later.
IMPORTED_AT = ANCHOR + 365 * 86_400
DAY = 86_400

LEARNER, COURSE, BATCH = 200 * 10**15, 300 * 10**15, 310 * 10**15
MODULE, ENTITY = 320 * 10**15, 330 * 10**15

ENTITIES_PER_MODULE = 5
COURSE_MODULES = 4  # self-paced and e-material: 4 x 5 = 20 entities
BLENDED_MODULES = 3  # blended: 3 x 5 of the course, plus one module of 5 per batch
PLAIN_TYPES = (0, 1, 2, 3, 4, 6, 7, 8, 9)  # 5 (a session) belongs to blended courses only


@dataclass(frozen=True)
class Built:
    """A cached store: its file, the tokens made for it and how its import went."""

    directory: Path
    enrolments: int
    records: int
    import_seconds: float
    build_seconds: float
    cached: bool

    @property
    def database(self) -> Path:
        return self.directory / "store.db"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.database}"

    @property
    def import_rate(self) -> float:
        return self.records / self.import_seconds if self.import_seconds else 0.0

    def tokens(self) -> list[str]:
        return (self.directory / "tokens.txt").read_text().split()

    def locked_token(self) -> str:
        return (self.directory / "locked-token.txt").read_text().strip()


@dataclass(frozen=True)
class Course:
    index: int
    id: int
    type: int
    batches: tuple[int, ...]  # batch ids (blended only)
    # Entity ids an enrolment sees, published ones only: of the course, and per batch.
    own: tuple[int, ...]
    per_batch: dict[int, tuple[int, ...]]

    def applicable(self, batch: int | None) -> tuple[int, ...]:
        return self.own + self.per_batch[batch] if batch is not None else self.own


def course_count(enrolments: int) -> int:
    return max(8, min(2_000, enrolments // 500))


def build(
    enrolments: int,
    cache: Path,
    *,
    tokens: int,
    say: Callable[[str], None] = print,
) -> Built:
    """The store of `enrolments` enrolments with at least `tokens` READ tokens (one API user
    each), from the cache or built now."""
    directory = cache / f"store-{enrolments}-v{VERSION}-{migrate.head_revision()}"
    meta = directory / "meta.json"
    if meta.exists():
        built = Built(directory=directory, cached=True, **json.loads(meta.read_text()))
        _ensure_tokens(built, tokens, say)
        return built
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    say(f"building a store of {enrolments:,} enrolments in {directory} (cached for next time)")
    with tempfile.TemporaryDirectory(prefix="lms-bench-", dir=cache) as scratch:
        files = generate(enrolments, Path(scratch))
        engine = make_engine(f"sqlite:///{directory / 'store.db'}")
        migrate.upgrade(engine)
        sources = [
            Source(path.name, KINDS[kind], "csv", _opener(path), size=path.stat().st_size)
            for kind, path in files
        ]
        generated = time.perf_counter() - started
        say(
            f"  generated {sum(s.size or 0 for s in sources) / 1e6:,.0f} MB of CSV in "
            f"{generated:.0f} s; importing"
        )
        report = import_sources(engine, sources, zone=ZoneInfo("UTC"), now=IMPORTED_AT)
        engine.dispose()
    if not report.committed:
        raise RuntimeError(f"the synthetic import failed: {report.sorted_errors()[:5]}")
    records = sum(count.read for count in report.counts.values())
    built = Built(
        directory=directory,
        enrolments=enrolments,
        records=records,
        import_seconds=report.seconds,
        build_seconds=time.perf_counter() - started,
        cached=False,
    )
    say(
        f"  imported {records:,} records in {report.seconds:.1f} s "
        f"({built.import_rate:,.0f} records/s)"
    )
    _ensure_tokens(built, tokens, say)
    fields = asdict(built)
    del fields["directory"], fields["cached"]
    meta.write_text(json.dumps(fields, indent=2))
    return built


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _ensure_tokens(built: Built, wanted: int, say: Callable[[str], None]) -> None:
    """At least `wanted` READ tokens of distinct API users, plus the locked caller's token.
    Only hashes are stored in the database, so the tokens themselves are kept beside it."""
    path = built.directory / "tokens.txt"
    have = path.read_text().split() if path.exists() else []
    engine = make_engine(built.url)
    try:
        with engine.begin() as connection:
            stored = connection.execute(select(func.count()).select_from(api_tokens)).scalar()
            if stored is not None and stored < len(have):
                raise RuntimeError(f"{path} does not match its store: delete {built.directory}")
            new = [generate_token() for _ in range(max(0, wanted - len(have)))]
            if new:
                say(f"  creating {len(new):,} API users with READ tokens")
                # In bulk, the rows create_token() writes: one user per token, only its hash kept.
                users = [new_id() for _ in new]
                connection.execute(
                    api_users.insert(),
                    [{"id": u, "name": "bench caller", "created_at": ANCHOR} for u in users],
                )
                connection.execute(
                    api_tokens.insert(),
                    [
                        {
                            "id": new_id(),
                            "user_id": user,
                            "token_hash": hash_token(token),
                            "scopes": Operation.READ.value,
                            "created_at": ANCHOR,
                        }
                        for user, token in zip(users, new, strict=True)
                    ],
                )
            locked = built.directory / "locked-token.txt"
            if not locked.exists():
                user = ensure_user(connection, None, "bench locked caller", ANCHOR)
                token = create_token(
                    connection, user_id=user, operations={Operation.READ}, now=ANCHOR
                )
                locked.write_text(token + "\n")
        if new:
            with path.open("a") as out:
                out.writelines(token + "\n" for token in new)
    finally:
        engine.dispose()


# -- generation -------------------------------------------------------------------------------


class _Writer:
    """One CSV file per kind, in the importer's column names."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: list[tuple[str, Path]] = []
        self._open: dict[str, tuple[IO[str], Any]] = {}

    def row(self, kind: str, values: tuple[Any, ...]) -> None:
        entry = self._open.get(kind)
        if entry is None:
            path = self.directory / f"{kind}.csv"
            out = path.open("w", newline="")
            writer = csv.writer(out)
            writer.writerow(self._columns[kind])
            entry = self._open[kind] = (out, writer)
            self.files.append((kind, path))
        entry[1].writerow(values)

    _columns = {
        "learners": ("id", "name", "email", "image_url"),
        "courses": ("id", "name", "type", "description"),
        "batches": ("id", "course_id", "name", "starts_at", "ends_at", "capacity"),
        "modules": ("id", "course_id", "batch_id", "name", "position"),
        "entities": ("id", "module_id", "entity_type", "name", "mandatory", "published"),
        "enrolments": ("learner_id", "course_id", "batch_id", "enrolled_at", "started_at"),
        "completions": ("learner_id", "entity_id", "completed_at"),
        "evaluations": (
            "learner_id",
            "course_id",
            "awarded_marks",
            "maximum_marks",
            "evaluated_at",
        ),
    }

    def close(self) -> list[tuple[str, Path]]:
        for out, _ in self._open.values():
            out.close()
        order = list(KINDS)
        return sorted(self.files, key=lambda item: order.index(item[0]))


def generate(enrolments: int, directory: Path) -> list[tuple[str, Path]]:
    """Write the CSV files of a store of `enrolments` enrolments; (kind, path) in import order."""
    rng = random.Random(enrolments)
    out = _Writer(directory)
    courses = list(_catalog(course_count(enrolments), rng, out))
    # Popular courses are taken more often (a long tail, as in real catalogues).
    weights = [1.0 / (rank + 5) for rank in range(len(courses))]
    rng.shuffle(weights)
    learner = 0
    left = enrolments
    while left > 0:
        learner += 1
        learner_id = LEARNER + learner
        image = f"https://contacts.example.com/file?ID={learner_id}" if learner % 3 else ""
        email = f"learner{learner}@example.com" if learner % 10 else None
        out.row("learners", (learner_id, f"Learner {learner}", email, image))
        if rng.random() < 0.02:
            continue  # enrolled in nothing (yet)
        wanted = min(left, rng.choice((1, 2, 3, 3, 4, 4, 5, 5, 6, 7)), len(courses))
        chosen: set[int] = set()
        while len(chosen) < wanted:
            chosen.update(c.index for c in rng.choices(courses, weights, k=wanted - len(chosen)))
        for index in sorted(chosen):
            _enrol(learner_id, courses[index], rng, out)
        left -= wanted
    return out.close()


def _catalog(count: int, rng: random.Random, out: _Writer) -> Iterator[Course]:
    for c in range(1, count + 1):
        course_id = COURSE + c
        kind = (1, 1, 1, 1, 1, 1, 2, 2, 3, 3)[c % 10]
        out.row("courses", (course_id, f"Course {c}", kind, f"About course {c}"))
        batches = tuple(BATCH + c * 10 + b for b in range(1, 2 + c % 3 + 1)) if kind == 2 else ()
        for b, batch in enumerate(batches, start=1):
            starts = ANCHOR - rng.randrange(30, 700) * DAY
            out.row("batches", (batch, course_id, f"Batch {b}", starts, starts + 90 * DAY, 40))
        own = _modules(
            c, course_id, None, COURSE_MODULES if kind != 2 else BLENDED_MODULES, 0, rng, out
        )
        per_batch = {
            batch: _modules(c, course_id, batch, 1, BLENDED_MODULES + b, rng, out)
            for b, batch in enumerate(batches)
        }
        yield Course(c - 1, course_id, kind, batches, own, per_batch)


def _modules(
    c: int,
    course_id: int,
    batch: int | None,
    count: int,
    first: int,
    rng: random.Random,
    out: _Writer,
) -> tuple[int, ...]:
    """`count` modules of 5 entities; the published entity ids."""
    published: list[int] = []
    for m in range(first, first + count):
        module_id = MODULE + c * 100 + m
        out.row("modules", (module_id, course_id, batch, f"Module {m + 1}", m))
        for e in range(ENTITIES_PER_MODULE):
            entity_id = ENTITY + c * 1000 + m * 10 + e
            kind = 5 if batch is not None and e < 2 else rng.choice(PLAIN_TYPES)
            mandatory = rng.random() >= 0.15
            shown = rng.random() >= 0.02
            out.row(
                "entities",
                (entity_id, module_id, kind, f"Entity {m + 1}.{e + 1}", mandatory, shown),
            )
            if shown:
                published.append(entity_id)
    return tuple(published)


def _enrol(learner_id: int, course: Course, rng: random.Random, out: _Writer) -> None:
    batch = rng.choice(course.batches) if course.batches else None
    enrolled = ANCHOR - rng.randrange(DAY, 730 * DAY)
    entities = course.applicable(batch)
    state = rng.random()
    started: int | None = None
    done = 0
    if state < 0.15:
        pass  # yet to start
    elif state < 0.20:
        started = enrolled + rng.randrange(DAY)  # started, nothing completed yet
    elif state < 0.80:
        # Part-way: fewer completions are more common than many.
        done = 1 + int(rng.random() ** 1.6 * (len(entities) - 1))
        done = min(done, len(entities) - 1)
    else:
        done = len(entities)
    out.row("enrolments", (learner_id, course.id, batch, enrolled, started))
    if not done:
        return
    at = enrolled
    span = max(DAY, min(ANCHOR - enrolled, 180 * DAY) // (done + 1))
    for entity in rng.sample(entities, done):
        at += rng.randrange(span)
        out.row("completions", (learner_id, entity, at))
    if done == len(entities) and rng.random() < 0.33:
        out.row("evaluations", (learner_id, course.id, rng.randrange(60, 101), 100, at + DAY))
