"""JSON decoding that keeps integers exact (ids are 64-bit; never through a float)."""

from __future__ import annotations

import json
from typing import Any

import orjson

_NOT_JSON = object()


def loads(content: bytes) -> Any:
    """The parsed body, or `NOT_JSON` when it is not JSON."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        pass
    try:
        # orjson refuses integers beyond 64 bits; the standard parser keeps them exact too.
        return json.loads(content)
    except ValueError:
        return _NOT_JSON


def is_json(value: Any) -> bool:
    return value is not _NOT_JSON
