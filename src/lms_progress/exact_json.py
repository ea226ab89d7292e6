"""JSON with its numbers kept exact, for the write API and the import alike.

orjson reads a number with a fraction or an exponent as a float, and an integer beyond 64 bits
too: a text holding such a number is read again with its numbers exact (Decimal), so that marks
keep every digit written and an id beyond 64 bits is out of range rather than a rounded float.
Texts without one (nearly all) pay only the orjson parse, unless repeated keys must be refused.
"""

from __future__ import annotations

import json
from decimal import Decimal

import orjson


class NotJson(ValueError):
    """The text is not valid JSON (or nests too deeply to read)."""


class RepeatedKey(ValueError):
    """An object of the text has the same key twice: valid JSON, but which value was meant?"""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key!r} is given more than once")
        self.key = key


def loads(raw: bytes | str, *, unique_keys: bool = False) -> object:
    """The value of the JSON text `raw`; with `unique_keys`, RepeatedKey when an object has a
    key twice (orjson keeps the last silently, so the text is read again to see the pairs)."""
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise NotJson(str(exc)) from None
    if not unique_keys and not _has_float(parsed):
        return parsed
    try:
        # orjson has judged the text valid JSON; only the numbers (and objects) are read
        # differently.
        exact: object = json.loads(
            raw, parse_float=Decimal, object_pairs_hook=_unique if unique_keys else None
        )
    except RecursionError:
        raise NotJson("nested too deeply") from None
    return exact


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise RepeatedKey(key)
            seen.add(key)
    return result


def _has_float(value: object) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float):
            return True
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
