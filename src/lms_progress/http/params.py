"""Parsing of path and query parameters into exact integers, with the contract's errors."""

from __future__ import annotations

from lms_progress.errors import ApiError, ErrorCode
from lms_progress.ids import MAX_ID, parse_id


def _digits(text: str, name: str) -> str:
    if not (text.isascii() and text.isdigit()):
        raise ApiError(ErrorCode.WRONG_DATA_TYPE, f"{name} must be an integer, not {text!r}")
    return text


def path_id(text: str, name: str) -> int:
    """A record id in a path: decimal digits of a positive signed 64-bit integer."""
    value = parse_id(text)
    if value is None:
        _digits(text.lstrip("-") or text, name)
        raise ApiError(ErrorCode.INVALID_PARAMETER, f"{name} must be a positive 64-bit integer")
    return value


def start_index(text: str | None) -> int:
    """A 0-based record offset, default 0."""
    if text is None or text == "":
        return 0
    negative = text.startswith("-")
    _digits(text[1:] if negative else text, "startIndex")
    if negative or len(text) > 19 or int(text) > MAX_ID:
        raise ApiError(
            ErrorCode.INVALID_PARAMETER, "startIndex must be between 0 and 9223372036854775807"
        )
    return int(text)


def choice(text: str | None, name: str, allowed: tuple[int, ...], default: int) -> int:
    """One of a few small integers, e.g. progressType 0 or 1."""
    if text is None or text == "":
        return default
    _digits(text[1:] if text.startswith("-") else text, name)
    if len(text) > 4 or int(text) not in allowed:
        raise ApiError(
            ErrorCode.INVALID_PARAMETER, f"{name} must be one of {', '.join(map(str, allowed))}"
        )
    return int(text)
