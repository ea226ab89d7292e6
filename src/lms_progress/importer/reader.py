"""Streaming CSV and JSON Lines parsing: one row at a time, into checked tuples.

Nothing here holds more than one row; a bad row is reported (file, line, reason) and skipped so
that every bad row of a file is found in one pass.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import tzinfo
from typing import IO, Any

from lms_progress import exact_json
from lms_progress.importer.records import Kind
from lms_progress.validation import not_in_future

FORMATS = ("csv", "jsonl")
# A bad value is quoted in its row's reason up to this many characters.
SHOWN_MAX = 60


@dataclass(frozen=True, slots=True)
class BadRow:
    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


def format_of_name(file_name: str) -> str | None:
    lowered = file_name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return None


Report = Callable[[int, str], None]


def read_rows(
    kind: Kind, stream: IO[bytes], fmt: str, zone: tzinfo, bad: Report, now: int
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(line, values) for each good row of `stream`; `bad(line, reason)` for the others. `now`
    is the time of the import: instants of past data may not be later."""
    text = utf8_text(stream)
    line = 0
    try:
        if fmt == "csv":
            reader = csv.reader(text, strict=True)
            rows = _csv_rows(kind, reader, bad)
        else:
            rows = _jsonl_rows(kind, text, bad)
        for line, raw in rows:
            values = _convert(kind, raw, zone, now, line, bad)
            if values is not None:
                yield line, values
    except csv.Error as exc:
        bad(line + 1, f"unreadable: {exc}")
    finally:
        text.detach()


def utf8_text(stream: IO[bytes]) -> io.TextIOWrapper:
    """The stream as UTF-8 text (a byte-order mark skipped). A byte that is not UTF-8 is kept as
    a lone surrogate, so that `not_utf8` names the row that holds it: a strict decoder fails at
    whichever line it is decoding ahead of the reader, line 1 for a small file."""
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")


def not_utf8(values: Iterable[str]) -> str | None:
    """Why a row read through `utf8_text` is not UTF-8, or None when it is."""
    for value in values:
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError as exc:
                byte = ord(value[exc.start]) - 0xDC00
                return f"unreadable: byte 0x{byte:02x} is not UTF-8 (the file must be UTF-8)"
    return None


def _csv_rows(kind: Kind, reader: Any, bad: Report) -> Iterator[tuple[int, dict[str, str | None]]]:
    header = next(reader, None)
    if header is None:
        # Without a header nothing says what the file holds: an empty upload is a mistake.
        bad(1, f"no header row: the file is empty {_columns_of(kind)}")
        return
    problem = not_utf8(header)
    if problem:
        bad(1, problem)
        return
    names = [name.strip() for name in header]
    if not _header_ok(kind, names, bad):
        return
    width = len(names)
    while True:
        # A quoted value may hold line breaks: a row is named by the line it starts on.
        first_line = reader.line_num + 1
        row = next(reader, None)
        if row is None:
            return
        if not row:
            continue
        problem = not_utf8(row)
        if problem:
            bad(first_line, problem)
            continue
        if len(row) != width:
            bad(first_line, f"{len(row)} fields, the header has {width}")
            continue
        yield first_line, {n: (v if v != "" else None) for n, v in zip(names, row, strict=True)}


def _header_ok(kind: Kind, names: list[str], bad: Report) -> bool:
    known = set(kind.names)
    unknown = [name for name in names if name not in known]
    missing = [c.name for c in kind.columns if c.required and c.name not in names]
    repeated = {name for name in names if names.count(name) > 1}
    for problem, what in (
        (unknown, "unknown columns"),
        (missing, "missing columns"),
        (sorted(repeated), "repeated columns"),
    ):
        if problem:
            bad(1, f"{what}: {', '.join(problem)} {_columns_of(kind)}")
            return False
    return True


def _columns_of(kind: Kind) -> str:
    return f"(the columns of {kind.name}: {', '.join(kind.names)})"


def _jsonl_rows(kind: Kind, text: IO[str], bad: Report) -> Iterator[tuple[int, dict[str, Any]]]:
    known = set(kind.names)
    for line, content in enumerate(text, start=1):
        if not content.strip():
            continue
        problem = not_utf8((content,))
        if problem:
            bad(line, problem)
            continue
        try:
            # Numbers exact and no key twice, as in the write API: a score keeps every digit
            # written, and a row never keeps one of two values silently.
            row = exact_json.loads(content, unique_keys=True)
        except exact_json.NotJson as exc:
            bad(line, f"not JSON: {exc}")
            continue
        except exact_json.RepeatedKey as exc:
            bad(line, str(exc))
            continue
        if not isinstance(row, dict):
            bad(line, "each line must be one JSON object")
            continue
        unknown = sorted(set(row) - known)
        if unknown:
            bad(line, f"unknown fields: {', '.join(unknown)}")
            continue
        yield line, row


def _convert(
    kind: Kind, raw: dict[str, Any], zone: tzinfo, now: int, line: int, bad: Report
) -> tuple[Any, ...] | None:
    values: list[Any] = []
    reasons: list[str] = []
    for column in kind.columns:
        value = raw.get(column.name)
        if value is None:
            if column.required:
                reasons.append(f"{column.name} is required")
            values.append(column.default)
            continue
        try:
            parsed = column.parse(value, zone)
            values.append(not_in_future(parsed, now) if column.past else parsed)
        except ValueError as exc:
            reasons.append(f"{column.name} {exc} (got {_shown(value)})")
            values.append(None)
    if not reasons and kind.check is not None:
        problem = kind.check(tuple(values))
        if problem:
            reasons.append(problem)
    if reasons:
        bad(line, "; ".join(reasons))
        return None
    return tuple(values)


def _shown(value: Any) -> str:
    """The value as written, cut short: a reason names a 20,000-character text, not repeats it."""
    shown = repr(value)
    if len(shown) <= SHOWN_MAX:
        return shown
    return f"{shown[: SHOWN_MAX - 10]}... ({len(str(value)):,} characters)"
