"""IDs: positive signed 64-bit integers, either given by a client or generated with 18 digits."""

from __future__ import annotations

import itertools
import secrets
import threading
import time

MAX_ID = 2**63 - 1
_BASE = 10**17  # every generated id has 18 digits
_EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z

_counter = itertools.count(secrets.randbelow(1 << 16))
_lock = threading.Lock()


def new_id() -> int:
    """An 18-digit id, ordered by creation time.

    Milliseconds since 2020 in the high bits keep ids roughly time-ordered (good for B-tree
    locality); the low 16 bits come from a per-process counter that starts at a random point, so
    two processes rarely collide within one millisecond, and the primary key catches it if they do.
    """
    with _lock:
        low = next(_counter) & 0xFFFF
    return _BASE + ((int(time.time() * 1000) - _EPOCH_MS) << 16) + low


def parse_id(text: str) -> int | None:
    """The id in `text`, or None when it is not plain decimal digits of a positive 64-bit int."""
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def is_valid_id(value: object) -> bool:
    return type(value) is int and 0 < value <= MAX_ID
