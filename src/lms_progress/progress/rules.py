"""The progress field rules of the contract (section 2), as pure functions: no I/O, no clock."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation

COURSE_TYPES = {1: "Self paced learning", 2: "Blended learning", 3: "E-material"}

COMPLETED = "Completed"
IN_PROGRESS = "In progress"
YET_TO_START = "Yet to start"

# English abbreviations whatever the server locale: strftime("%b") would follow LC_TIME.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def completion_percentage(completed: int, total: int) -> int:
    """floor(100 * completed / total) in integers; 0 when there is nothing to complete."""
    if total <= 0:
        return 0
    completed = min(max(completed, 0), total)
    return 100 * completed // total


def completion_status(*, completed: bool, started: bool, completed_count: int) -> str:
    if completed:
        return COMPLETED
    if started or completed_count > 0:
        return IN_PROGRESS
    return YET_TO_START


def local_date(instant: int, zone: tzinfo) -> date:
    """The calendar day, in `zone`, of an instant given in seconds since the Unix epoch."""
    return datetime.fromtimestamp(instant, zone).date()


def format_date(day: date) -> str:
    """dd-MMM-yyyy, e.g. 03-Aug-2023."""
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year:04d}"


def completed_in(enrolled: date, until: date | None) -> str:
    """Calendar days from enrolment to `until`, both days counted: the same day is "1 days".

    `until` is the completion date (also of an enrolment an admin marked complete), or while not
    complete the date of the latest completed entity; None (not complete, nothing completed)
    gives "". Dates are counted, not seconds, so daylight-saving days
    (23 or 25 hours) count as one day each. A completion dated before the enrolment (imported
    history) counts as the enrolment day.
    """
    if until is None:
        return ""
    return f"{max((until - enrolled).days + 1, 1)} days"


MARKS_DIGITS = 32  # the width of the marks columns


def canonical_marks(value: object) -> str:
    """Marks as a canonical decimal string: "95", "87.5". Raises ValueError when not a finite
    non-negative number."""
    if isinstance(value, bool):
        raise ValueError("marks must be a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not number.is_finite() or number < 0:
        raise ValueError(f"marks must be a finite number >= 0, not {value!r}")
    # Bound the exponent before normalising: "1e100000000" would overflow the decimal context,
    # and "1e999999" would become a million digits. The stored form has at most 32 characters.
    if number and not -MARKS_DIGITS <= number.adjusted() < MARKS_DIGITS:
        raise ValueError(f"marks out of range: {value!r}")
    text = format(number.normalize(), "f")
    if len(text) > MARKS_DIGITS:
        raise ValueError(f"marks have more than {MARKS_DIGITS} characters: {value!r}")
    return text if text != "-0" else "0"
