"""The progress field rules of the contract (section 2), as pure functions: no I/O, no clock."""

from __future__ import annotations

import re
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
# Marks written as text: ASCII digits, an optional fraction and exponent, as a JSON number
# without its sign ("87.5", "1e2").
_PLAIN_MARKS = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def canonical_marks(value: object) -> str:
    """Marks as a canonical decimal string, exactly as given: "95", "87.5" ("87.50" and "8.75e1"
    too; text only in plain decimal digits). Raises ValueError, its message a predicate ("must be
    a number >= 0", "is too large"), when not a finite non-negative number that fits the column
    exactly."""
    if isinstance(value, bool):
        raise ValueError("must be a number >= 0")
    if isinstance(value, str) and _PLAIN_MARKS.fullmatch(value) is None:
        # Decimal() would also read "1_000", " 5 ", "+5", ".5" and the digits of any script.
        raise ValueError("must be a number >= 0 in plain decimal digits (87.5, 1e2)")
    try:
        # An int or a Decimal is taken as it is (str() of a huge int is refused by Python);
        # a float by its shortest repr, the number its JSON text meant.
        number = (
            value
            if isinstance(value, Decimal)
            else Decimal(value if isinstance(value, int) else str(value))
        )
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError("must be a number >= 0") from None
    if not number.is_finite() or number < 0:
        raise ValueError("must be a number >= 0")
    if not number:
        return "0"
    # Bound the exponent before formatting: "1e999999" would become a million digits.
    if number.adjusted() >= MARKS_DIGITS:
        raise ValueError(f"is too large (marks have at most {MARKS_DIGITS} digits)")
    if number.adjusted() < -MARKS_DIGITS:
        raise ValueError(f"is too small to keep (marks have at most {MARKS_DIGITS} characters)")
    # Trailing zeros stripped from the exact digits: normalize() would round to the decimal
    # context's 28 significant digits, silently changing longer marks.
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if len(text) > MARKS_DIGITS:
        raise ValueError(
            f"has more digits than can be kept exactly (at most {MARKS_DIGITS} characters)"
        )
    return text
