"""The kinds of record an import file may hold, their columns, and how each value is checked.

A row becomes one plain tuple in column order; a value that is missing takes the column's default.
Every value obeys the write API's limits and rules (`validation.py`, shared with it), so an import
stores nothing the API would refuse. Checks that need the store (does the course exist?) happen
later, in SQL, in `load.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from lms_progress import validation
from lms_progress.validation import (
    CAPACITY_MAX,
    NAME_MAX,
    POSITION_MAX,
    TEXT_MAX,
)

Parse = Callable[[Any, tzinfo], Any]


def parse_id(value: Any, _zone: tzinfo) -> int:
    return validation.record_id(_integer(value))


def text_of(max_length: int, *, blank: bool = False) -> Parse:
    """Text of at most `max_length` characters, blank only when `blank` (as in the API)."""

    def parse(value: Any, _zone: tzinfo) -> str:
        if not isinstance(value, str):
            raise ValueError("must be text")
        return validation.text(value, max_length, blank=blank)

    return parse


parse_name = text_of(NAME_MAX)


def parse_bool(value: Any, _zone: tzinfo) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLS:
        return _BOOLS[value.strip().lower()]
    if type(value) is int and value in (0, 1):
        return bool(value)
    raise ValueError("must be true or false")


_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def parse_instant(value: Any, zone: tzinfo) -> int:
    """A date or an instant in any form the write API reads too (`validation.instant`)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"must be {validation.INSTANT_FORMS}")
    return validation.instant(value, zone)


def parse_marks(value: Any, _zone: tzinfo) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a number")
    return validation.marks(value)


def _integer(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and text.isascii() and len(text) <= 20:
            return int(text)
    raise ValueError("must be an integer")


def one_of(*allowed: int) -> Parse:
    def parse(value: Any, _zone: tzinfo) -> int:
        number = _integer(value)
        if number not in allowed:
            raise ValueError(f"must be one of {', '.join(map(str, allowed))}")
        return number

    return parse


def between(low: int, high: int) -> Parse:
    def parse(value: Any, _zone: tzinfo) -> int:
        return validation.between(_integer(value), low, high)

    return parse


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    parse: Parse
    sql_type: str
    required: bool = False
    default: Any = None
    # An instant of past data (as in the API): never later than the time of the import.
    past: bool = False


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    columns: tuple[Column, ...]
    # A check across the columns of one row: the reason it is bad, or None.
    check: Callable[[tuple[Any, ...]], str | None] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def singular(self) -> str:
        """One record of this kind, as messages name it ("entity 8301 ...")."""
        return _SINGULAR.get(self.name, self.name.removesuffix("s"))


_SINGULAR = {"entities": "entity", "batches": "batch"}


def _id(name: str, required: bool = True) -> Column:
    return Column(name, parse_id, "BIGINT", required)


def _ends_after_start(start: int, end: int, what: str) -> Callable[[tuple[Any, ...]], str | None]:
    def check(row: tuple[Any, ...]) -> str | None:
        if row[start] is not None and row[end] is not None and row[end] < row[start]:
            return what
        return None

    return check


def _evaluation_marks(row: tuple[Any, ...]) -> str | None:
    awarded, maximum = Decimal(row[2]), Decimal(row[3])
    if maximum <= 0 or awarded > maximum:
        return "awarded_marks must be between 0 and maximum_marks, and maximum_marks above 0"
    return None


LEARNERS = Kind(
    "learners",
    (
        _id("id"),
        Column("name", parse_name, "TEXT", True),
        Column("email", lambda value, _zone: validation.email(value), "TEXT"),
        Column("image_url", lambda value, _zone: validation.image_url(value), "TEXT", default=""),
        _id("manager_id", False),
        Column("active", parse_bool, "BOOLEAN", default=True),
    ),
)
COURSES = Kind(
    "courses",
    (
        _id("id"),
        Column("name", parse_name, "TEXT", True),
        Column("type", one_of(1, 2, 3), "INTEGER", True),
        Column("description", text_of(TEXT_MAX, blank=True), "TEXT", default=""),
    ),
)
BATCHES = Kind(
    "batches",
    (
        _id("id"),
        _id("course_id"),
        Column("name", parse_name, "TEXT", True),
        Column("starts_at", parse_instant, "BIGINT"),
        Column("ends_at", parse_instant, "BIGINT"),
        Column("capacity", between(0, CAPACITY_MAX), "INTEGER"),
    ),
    _ends_after_start(3, 4, "ends_at is before starts_at"),
)
MODULES = Kind(
    "modules",
    (
        _id("id"),
        _id("course_id"),
        _id("batch_id", False),
        Column("name", parse_name, "TEXT", True),
        Column("description", text_of(TEXT_MAX, blank=True), "TEXT", default=""),
        Column("position", between(0, POSITION_MAX), "INTEGER", default=0),
    ),
)
ENTITIES = Kind(
    "entities",
    (
        _id("id"),
        _id("module_id"),
        Column("entity_type", one_of(*range(10)), "INTEGER", True),
        Column("name", parse_name, "TEXT", True),
        Column("mandatory", parse_bool, "BOOLEAN", default=True),
        Column("published", parse_bool, "BOOLEAN", default=True),
        Column("max_marks", parse_marks, "TEXT"),
    ),
)
ENROLMENTS = Kind(
    "enrolments",
    (
        _id("learner_id"),
        _id("course_id"),
        _id("batch_id", False),
        Column("enrolled_at", parse_instant, "BIGINT", True, past=True),
        Column("started_at", parse_instant, "BIGINT", past=True),
        Column("ended_at", parse_instant, "BIGINT", past=True),
    ),
    _ends_after_start(3, 5, "ended_at is before enrolled_at"),
)
COMPLETIONS = Kind(
    "completions",
    (
        _id("learner_id"),
        _id("entity_id"),
        Column("completed_at", parse_instant, "BIGINT", True, past=True),
        Column("score", parse_marks, "TEXT"),
    ),
)
EVALUATIONS = Kind(
    "evaluations",
    (
        _id("learner_id"),
        _id("course_id"),
        Column("awarded_marks", parse_marks, "TEXT", True),
        Column("maximum_marks", parse_marks, "TEXT", True),
        Column("evaluated_at", parse_instant, "BIGINT", True, past=True),
        _id("evaluated_by", False),
    ),
    _evaluation_marks,
)

# In the order they are written: each kind may refer to the kinds before it.
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        LEARNERS,
        COURSES,
        BATCHES,
        MODULES,
        ENTITIES,
        ENROLMENTS,
        COMPLETIONS,
        EVALUATIONS,
    )
}


def kind_of_file(file_name: str) -> Kind | None:
    """The kind named by the start of a file name: `completions.csv`, `enrolments-2024.jsonl`."""
    stem = file_name.lower()
    for stop in ".-_ ":
        stem = stem.split(stop, 1)[0]
    return KINDS.get(stem) or KINDS.get(stem + "s")
