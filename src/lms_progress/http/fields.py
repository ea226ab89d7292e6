"""Typed reading of the fields of a write call's JSON object, with the contract's errors.

Missing required field: 400 / 7202. Wrong JSON type: 400 / 7204. A value of the right type that is
not allowed (an id of 0, an unknown date): 400 / 7201. A string longer than its limit: 422 / 7220.
Keys we do not store (Zoho's `aboutCourse`, `locations`, ...) are accepted and ignored. The limits
and rules themselves are `validation.py`'s, shared with the bulk import.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, tzinfo
from decimal import Decimal
from typing import Any, Literal, overload

from lms_progress import validation
from lms_progress.errors import ApiError, ErrorCode
from lms_progress.ids import parse_id
from lms_progress.validation import NAME_MAX, Refused

_MISSING = object()


class Fields:
    """Reads the fields of one JSON object. `zone` places dates on the organisation's calendar."""

    def __init__(self, data: dict[str, Any], name: str, zone: tzinfo = UTC) -> None:
        self.data = data
        self.name = name
        self.zone = zone

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, required: bool) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise ApiError(ErrorCode.MISSING_PARAMETER, f"{self.name}.{key} is missing")
            return None
        return value

    def _wrong_type(self, key: str, expected: str) -> ApiError:
        return ApiError(ErrorCode.WRONG_DATA_TYPE, f"{self.name}.{key} must be {expected}")

    def _refused(self, key: str, exc: Refused) -> ApiError:
        code = ErrorCode.LIMIT_EXCEEDED if exc.limit else ErrorCode.INVALID_PARAMETER
        return ApiError(code, f"{self.name}.{key} {exc}")

    @overload
    def text(
        self, key: str, *, required: Literal[True], max_length: int = ..., blank: bool = ...
    ) -> str: ...
    @overload
    def text(
        self, key: str, *, required: bool = ..., max_length: int = ..., blank: bool = ...
    ) -> str | None: ...
    def text(
        self, key: str, *, required: bool = False, max_length: int = NAME_MAX, blank: bool = False
    ) -> str | None:
        return self.checked(
            key, lambda value: validation.text(value, max_length, blank=blank), required=required
        )

    def checked(
        self, key: str, rule: Callable[[str], str], *, required: bool = False
    ) -> str | None:
        """A string checked by one of validation.py's rules (`validation.email`, ...)."""
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._wrong_type(key, "a string")
        try:
            return rule(value)
        except Refused as exc:
            raise self._refused(key, exc) from None

    @overload
    def integer(self, key: str, *, required: Literal[True], low: int, high: int) -> int: ...
    @overload
    def integer(self, key: str, *, required: bool = ..., low: int, high: int) -> int | None: ...
    def integer(self, key: str, *, required: bool = False, low: int, high: int) -> int | None:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, str) and value.isascii() and value.isdigit():
            if len(value) > 19:  # beyond 64 bits: out of range, like the same JSON number
                raise self._refused(key, Refused(f"must be between {low} and {high}"))
            value = int(value)
        if type(value) is not int:
            raise self._wrong_type(key, "an integer")
        try:
            return validation.between(value, low, high)
        except Refused as exc:
            raise self._refused(key, exc) from None

    @overload
    def record_id(self, key: str, *, required: Literal[True]) -> int: ...
    @overload
    def record_id(self, key: str, *, required: bool = ...) -> int | None: ...
    def record_id(self, key: str, *, required: bool = False) -> int | None:
        """A positive 64-bit id, as a JSON number or a string of digits (Zoho writes strings)."""
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, str):
            parsed = parse_id(value)
            if parsed is None:
                if not (value.isascii() and value.isdigit()):
                    raise self._wrong_type(key, "an id (digits)")
                raise ApiError(
                    ErrorCode.INVALID_PARAMETER,
                    f"{self.name}.{key} must be a positive 64-bit integer",
                )
            return parsed
        if type(value) is not int:
            raise self._wrong_type(key, "an id (digits)")
        try:
            return validation.record_id(value)
        except Refused as exc:
            raise self._refused(key, exc) from None

    def boolean(self, key: str, *, required: bool = False) -> bool | None:
        value = self._get(key, required)
        if value is None:
            return None
        # Zoho's examples write booleans both ways: true and "true".
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise self._wrong_type(key, "true or false")
        return value

    @overload
    def marks(self, key: str, *, required: Literal[True]) -> str: ...
    @overload
    def marks(self, key: str, *, required: bool = ...) -> str | None: ...
    def marks(self, key: str, *, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        # A Decimal: a JSON number with a fraction or an exponent, read exactly (http/body.py).
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise self._wrong_type(key, "a number")
        try:
            return validation.marks(value)
        except Refused as exc:
            raise self._refused(key, exc) from None

    def instant(self, key: str, *, required: bool = False) -> int | None:
        """A day or an instant, as epoch seconds, in any form `validation.instant` reads (the
        import's too): DD-MM-YYYY, YYYY-MM-DD, ISO 8601 with or without an offset, seconds."""
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self._wrong_type(key, validation.INSTANT_FORMS)
        try:
            return validation.instant(value, self.zone)
        except Refused as exc:
            raise self._refused(key, exc) from None
