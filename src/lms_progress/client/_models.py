"""Typed progress results: exact integer ids, `datetime.date` dates, `""` as None, raw JSON kept."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from typing import Any

from lms_progress.client._errors import UnexpectedResponse

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
_DISPLAY_DATE = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})")
_DAYS = re.compile(r"(\d+)\s+days?")


class ProgressType(IntEnum):
    """P2's `progressType`: count all entities, or the mandatory ones only."""

    ALL = 0
    MANDATORY = 1


@dataclass(frozen=True, slots=True)
class CourseProgress:
    """One `courseProgress` row. `raw` is the row exactly as received."""

    course_id: int
    course_name: str
    type: int
    course_type: str
    batch_id: int | None
    batch_name: str | None
    enrolled_date: date | None
    completion_date: date | None
    completed_in_days: int | None
    total_entities_count: int
    completed_entities_count: int
    completion_percentage: int
    completion_status: str
    # As Zoho names them: total marks are the marks awarded, marks the maximum.
    manager_evaluation_total_marks: Decimal | None
    manager_evaluation_marks: Decimal | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, row: Any) -> CourseProgress:
        if not isinstance(row, dict):
            raise UnexpectedResponse(f"a courseProgress row must be an object, not {row!r}")
        return cls(
            course_id=_int(row, "courseId"),
            course_name=_str(row, "courseName") or "",
            type=_int(row, "type"),
            course_type=_str(row, "courseType") or "",
            batch_id=_optional_int(row, "batchId"),
            batch_name=_str(row, "batchName"),
            enrolled_date=_date(row, "enrolledDate"),
            completion_date=_date(row, "completionDate"),
            completed_in_days=_days(row, "completedIn"),
            total_entities_count=_int(row, "totalEntitiesCount"),
            completed_entities_count=_int(row, "completedEntitiesCount"),
            completion_percentage=_int(row, "completionPercentage"),
            completion_status=_str(row, "completionStatus") or "",
            manager_evaluation_total_marks=_decimal(row, "managerEvaluationTotalMarks"),
            manager_evaluation_marks=_decimal(row, "managerEvaluationMarks"),
            raw=row,
        )


@dataclass(frozen=True, slots=True)
class ProgressPage:
    """One page of a learner's progress, as the API answered it. `raw` is the whole body."""

    learner_id: int
    learner_name: str
    learner_image_url: str | None
    course_progress: tuple[CourseProgress, ...]
    has_more_records: bool
    start_index: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Any, start_index: int) -> ProgressPage:
        if not isinstance(body, dict) or not isinstance(body.get("courseProgress"), list):
            raise UnexpectedResponse(f"not a course-progress body: {str(body)[:200]}")
        more = body.get("hasMoreRecords", False)
        if not isinstance(more, bool):
            raise UnexpectedResponse(f"hasMoreRecords must be a boolean, not {more!r}")
        return cls(
            learner_id=_int(body, "learnerId"),
            learner_name=_str(body, "learnerName") or "",
            learner_image_url=_str(body, "learnerImageURL"),
            course_progress=tuple(CourseProgress.from_json(r) for r in body["courseProgress"]),
            has_more_records=more,
            start_index=start_index,
            raw=body,
        )


def _value(obj: dict[str, Any], key: str) -> Any:
    if key not in obj:
        raise UnexpectedResponse(f"{key} is missing")
    return obj[key]


def _optional_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key, "")
    if value == "" or value is None:
        return None
    # Zoho writes some ids as numbers and others as strings; both are exact 64-bit integers.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise UnexpectedResponse(f"{key} must be an integer, not {value!r}")


def _int(obj: dict[str, Any], key: str) -> int:
    value = _optional_int(obj, key)
    if value is None:
        raise UnexpectedResponse(f"{key} is missing")
    return value


def _str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key, "")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UnexpectedResponse(f"{key} must be a string, not {value!r}")
    return value


def parse_display_date(text: str) -> date:
    """`dd-MMM-yyyy` with English month abbreviations ("03-Aug-2023"), or ISO `yyyy-mm-dd`."""
    match = _DISPLAY_DATE.fullmatch(text.strip())
    if match and match.group(2).title() in _MONTHS:
        day, month, year = match.groups()
        return date(int(year), _MONTHS[month.title()], int(day))
    return date.fromisoformat(text.strip())


def _date(obj: dict[str, Any], key: str) -> date | None:
    text = _str(obj, key)
    if text is None:
        return None
    try:
        return parse_display_date(text)
    except ValueError:
        raise UnexpectedResponse(f"{key} is not a date: {text!r}") from None


def _days(obj: dict[str, Any], key: str) -> int | None:
    text = _str(obj, key)
    if text is None:
        return None
    match = _DAYS.fullmatch(text.strip())
    if match is None:
        raise UnexpectedResponse(f"{key} must read 'N days', not {text!r}")
    return int(match.group(1))


def _decimal(obj: dict[str, Any], key: str) -> Decimal | None:
    value = obj.get(key, "")
    if value == "" or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UnexpectedResponse(f"{key} must be a number, not {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise UnexpectedResponse(f"{key} must be a number, not {value!r}") from None
