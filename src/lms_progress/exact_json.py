"""JSON with its numbers kept exact, for the write API and the import alike.

orjson reads a number with a fraction or an exponent as a float, and an integer beyond 64 bits
too: a text holding such a number is read again with its numbers exact (Decimal), so that marks
keep every digit written and an id beyond 64 bits is out of range rather than a rounded float.
Texts without one (nearly all) pay only the orjson parse.
"""

from __future__ import annotations

import json
from decimal import Decimal

import orjson


class NotJson(ValueError):
    """The text is not valid JSON (or nests too deeply to read)."""


def loads(raw: bytes | str) -> object:
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise NotJson(str(exc)) from None
    if not _has_float(parsed):
        return parsed
    try:
        # orjson has judged the text valid JSON; only the numbers are read differently.
        exact: object = json.loads(raw, parse_float=Decimal)
    except RecursionError:
        raise NotJson("nested too deeply") from None
    return exact


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
