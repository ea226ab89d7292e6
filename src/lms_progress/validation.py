"""The limits and rules of every stored value, whichever way it comes in.

The write API (`http/fields.py`) and the bulk import (`importer/records.py`) both check with these,
so the store never holds a record that one of them would refuse. Pure: no framework, no store, no
clock. A broken rule raises `Refused`, a ValueError whose text completes a sentence about the field
("is longer than 250 characters"); `limit` marks a value too large (the API's 422 / 7220) as
against one that is not allowed at all (400 / 7201).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, tzinfo
from decimal import Decimal
from urllib.parse import urlsplit

from lms_progress.ids import MAX_ID
from lms_progress.progress.rules import MARKS_DIGITS, canonical_marks

NAME_MAX = 250  # names of learners, courses, batches, modules and entities
TEXT_MAX = 10_000  # descriptions
URL_MAX = 2_000
EMAIL_MAX = 320  # also the width of learners.email
# Marks written as text, before they are made canonical: as wide as the column, so that every
# mark it can keep ("0.000000000000000000000000000001") can be written as text too.
MARKS_TEXT_MAX = MARKS_DIGITS
CAPACITY_MAX = 1_000_000
POSITION_MAX = 2**31 - 1  # an INTEGER column
FIRST_YEAR = 1970  # instants are epoch seconds, never negative
INSTANT_MAX = 253_402_300_799  # 9999-12-31T23:59:59Z, the last instant a date-time can name
INSTANT_TEXT_MAX = 40  # the longest date-time written out, with room to spare
INSTANT_FORMS = (
    "a date (25-12-2023 or 2023-12-25), a date-time (2023-12-25T09:30:00Z) or seconds since the "
    "epoch"
)
_BEFORE_FIRST = f"must not be before {FIRST_YEAR}-01-01T00:00:00Z"
_ZOHO_DAY = re.compile(r"([0-9]{2})-([0-9]{2})-([0-9]{4})")
_INTEGER = re.compile(r"-?[0-9]+")


class Refused(ValueError):
    """A value the store does not take: str(self) says why, after the field's name."""

    def __init__(self, reason: str, *, limit: bool = False) -> None:
        super().__init__(reason)
        self.limit = limit


def text(value: str, max_length: int = NAME_MAX, *, blank: bool = False) -> str:
    """Text of at most `max_length` characters (blank only when `blank`), storable everywhere."""
    if len(value) > max_length:
        raise Refused(f"is longer than {max_length} characters", limit=True)
    if not blank and not value.strip():
        raise Refused("must not be blank")
    # PostgreSQL cannot store NUL, and lone surrogates cannot be encoded at all.
    if "\x00" in value:
        raise Refused("contains a NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused("is not valid Unicode") from None
    return value


# No spaces or control characters anywhere; for an address, one @ with something on each side.
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")
_NO_SPACE = re.compile(r"[^\s\x00-\x1f\x7f]+")


def email(value: object) -> str:
    """A learner's e-mail address: text of at most EMAIL_MAX characters that looks like one.
    Lightly checked (one @, something each side of it, no spaces): no mail is sent."""
    address = text(_string(value), EMAIL_MAX)
    if _EMAIL.fullmatch(address) is None:
        raise Refused("must be an e-mail address (name@example.com)")
    return address


def image_url(value: object) -> str:
    """A learner's image: an http or https URL of at most URL_MAX characters, or "" for none.
    Other schemes (javascript:, data:, file:) are refused: pages show this URL to people."""
    url = text(_string(value), URL_MAX, blank=True)
    if url and (_NO_SPACE.fullmatch(url) is None or not _is_web_url(url)):
        raise Refused("must be an http or https URL")
    return url


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is no port ("x:abc")
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _string(value: object) -> str:
    # The API has refused other JSON types already (7204); an import's JSON Lines row has not.
    if not isinstance(value, str):
        raise Refused("must be text")
    return value


def record_id(value: int) -> int:
    if not 0 < value <= MAX_ID:
        raise Refused("must be a positive 64-bit integer")
    return value


def between(value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise Refused(f"must be between {low} and {high}")
    return value


def marks(value: int | float | str | Decimal) -> str:
    """Marks as their canonical decimal string ("87.5"), every digit kept."""
    if isinstance(value, str) and len(value) > MARKS_TEXT_MAX:
        raise Refused("is too long", limit=True)
    try:
        return canonical_marks(value)
    except ValueError as exc:  # its text says why: "must be a number >= 0", "is too large", ...
        raise Refused(str(exc)) from None


def instant(value: str | int, zone: tzinfo) -> int:
    """Epoch seconds of a date or an instant as the write API and the import both read them
    (docs/api.md, "Dates and times"): a day `DD-MM-YYYY` (Zoho's input format), `YYYY-MM-DD` or
    `YYYYMMDD`, at the start of that day in `zone`; an ISO 8601 date-time, in `zone` when it has no
    offset; or seconds since the epoch (at least nine digits). From 1970 to 9999."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) > INSTANT_TEXT_MAX:
            raise Refused("is too long", limit=True)
        if not _INTEGER.fullmatch(text):
            return _seconds(_moment(text, zone))
        value = int(text)
        digits = len(text.lstrip("+-"))  # leading zeros count: "00000000" is eight digits
    else:
        digits = len(str(abs(value)))
    if value < 0:
        raise Refused(_BEFORE_FIRST)
    if digits < 8:
        # Seconds before 1973 written short ("123", an ordinal date "2023359") are far more
        # often a mistake than data.
        raise Refused("seconds from the epoch have at least nine digits; or write a date")
    if digits == 8:
        # Eight digits are a date in ISO 8601's basic form (20230804), as spreadsheets and other
        # systems export it; as seconds they would silently land in 1970-1973.
        try:
            day = datetime(value // 10_000, value // 100 % 100, value % 100, tzinfo=zone)
        except ValueError:
            raise Refused(
                "eight digits are read as a date YYYYMMDD, and this is not one; write seconds "
                "from the epoch with at least nine digits, or a date-time"
            ) from None
        return _seconds(day)
    return _in_range(value)


def _moment(text: str, zone: tzinfo) -> datetime:
    day = _ZOHO_DAY.fullmatch(text)
    try:
        if day is not None:
            moment = datetime(int(day[3]), int(day[2]), int(day[1]))
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:  # not a form we read, or no such day (31-02-2023)
        raise Refused(f"must be {INSTANT_FORMS}") from None
    # A day, or a time without an offset, is on the organisation's calendar and clock.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _seconds(moment: datetime) -> int:
    # A year before 1970 is refused before it is converted: in some zones it would overflow.
    if moment.year < FIRST_YEAR:
        raise Refused(_BEFORE_FIRST)
    return _in_range(math.floor(moment.timestamp()))


def _in_range(seconds: int) -> int:
    if seconds < 0:
        raise Refused(_BEFORE_FIRST)
    if seconds > INSTANT_MAX:
        raise Refused("must not be after 9999-12-31T23:59:59Z")
    return seconds


def not_in_future(seconds: int, now: int) -> int:
    """An instant given for past data (a completion, an enrolment): never later than now."""
    if seconds > now:
        raise Refused("must not be in the future")
    return seconds
