"""The JSON object of a write call, wherever Zoho lets it come from.

Zoho's write calls pass one JSON object in a parameter named after the resource (`courseData`,
`moduleData`, ...), in the query string, a form body or a JSON body. A JSON body may also be the
object itself. Whatever the source: a bounded size, valid JSON, an object, or a 4xx in the envelope.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

from lms_progress import exact_json
from lms_progress.errors import ApiError, ErrorCode
from lms_progress.validation import INSTANT_MAX, INSTANT_TEXT_MAX, NAME_MAX, TEXT_MAX

# One record per call: a generous bound for one object, far below anything that would hurt.
MAX_BODY_BYTES = 64 * 1024
FORM = "application/x-www-form-urlencoded"


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(ErrorCode.PAYLOAD_TOO_LARGE, f"The request body is larger than {limit} bytes")


async def resource_data(request: Request, name: str, *, required: bool = True) -> dict[str, Any]:
    """The object passed as `name` (e.g. courseData); {} when absent and not required."""
    found = _from_query(request, name)
    body = await read_body(request)
    from_body = _from_body(request, body, name) if body.strip() else None
    if found is not None and from_body is not None:
        raise ApiError(
            ErrorCode.INVALID_PARAMETER, f"{name} was given both in the query and in the body"
        )
    data = found if found is not None else from_body
    if data is None:
        if required:
            raise ApiError(ErrorCode.MISSING_PARAMETER, f"{name} is missing")
        return {}
    return data


def _from_query(request: Request, name: str) -> dict[str, Any] | None:
    query = request.scope["query_string"].decode("utf-8", "surrogateescape")
    return _parameter(query, name)


def _parameter(encoded: str, name: str) -> dict[str, Any] | None:
    """The object passed as `name` in URL-encoded text (a query string or a form body)."""
    # Not Starlette's query_params nor parse_qs's default: both turn bytes that are not UTF-8
    # (%FF, %ED%A0%80) into U+FFFD, which would be stored. Kept as lone surrogates, _object
    # refuses them.
    values = parse_qs(encoded, keep_blank_values=True, errors="surrogateescape").get(name, [])
    if len(values) > 1:
        raise ApiError(ErrorCode.INVALID_PARAMETER, f"{name} was given more than once")
    return _object(values[0], name) if values else None


def _from_body(request: Request, body: bytes, name: str) -> dict[str, Any] | None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == FORM:
        try:
            form = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(ErrorCode.MALFORMED_BODY, "The form body is not UTF-8") from None
        return _parameter(form, name)
    if content_type.startswith("multipart/"):
        raise ApiError(
            ErrorCode.MALFORMED_BODY,
            f"Send {name} as a JSON body or an application/x-www-form-urlencoded form",
        )
    parsed = _json(body, "The request body")
    if not isinstance(parsed, dict):
        raise ApiError(ErrorCode.MALFORMED_BODY, "The request body must be a JSON object")
    # {"courseData": {...}} (or the object as a JSON string), else the body is the object itself.
    if name not in parsed:
        return parsed
    if len(parsed) > 1:
        # Fields beside the wrapper: meant inside it, or a mix-up? Guessing would lose data.
        others = ", ".join(sorted(key for key in parsed if key != name))
        raise ApiError(
            ErrorCode.INVALID_PARAMETER,
            f"The request body has keys beside {name} ({others}): "
            f"send {name} alone, or the object itself without {name}",
        )
    inner = parsed[name]
    return _object(inner, name) if isinstance(inner, str) else _require_object(inner, name)


def _object(text: str, name: str) -> dict[str, Any]:
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(ErrorCode.MALFORMED_BODY, f"{name} is not UTF-8") from None
    return _require_object(_json(raw, name), name)


def _require_object(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(ErrorCode.MALFORMED_BODY, f"{name} must be a JSON object")
    return value


def _json(raw: bytes, what: str) -> object:
    try:
        return exact_json.loads(raw, unique_keys=True)
    except exact_json.NotJson as exc:
        raise ApiError(ErrorCode.MALFORMED_BODY, f"{what} is not valid JSON: {exc}") from None
    except exact_json.RepeatedKey as exc:
        # Like a data object given twice: which of the values was meant cannot be known.
        raise ApiError(
            ErrorCode.INVALID_PARAMETER, f'{what} gives "{exc.key}" more than once'
        ) from None


def documented(name: str, fields: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """`openapi_extra` describing the call's object (`/docs`): the JSON body `{name: {...}}`.
    The same object may come in the query string or a form (docs/api.md, "Writes")."""
    data: dict[str, Any] = {"type": "object", "properties": fields}
    if required:
        data["required"] = list(required)
    return {
        "requestBody": {
            "required": bool(required),
            "description": f"{name}: in a JSON body as shown, the object itself as the body, "
            f"or `{name}=<JSON>` in the query string or a form",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {name: data}, "required": [name]}
                }
            },
        }
    }


# JSON Schema pieces for `documented`.
Schema = dict[str, Any]
ID: Schema = {
    "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[0-9]{1,19}$"}]
}
NAME: Schema = {"type": "string", "minLength": 1, "maxLength": NAME_MAX}
TEXT: Schema = {"type": "string", "maxLength": TEXT_MAX}
BOOLEAN: Schema = {"type": "boolean"}
MARKS: Schema = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}]}
# Any form of validation.instant: DD-MM-YYYY, YYYY-MM-DD, ISO 8601, or seconds since the epoch.
INSTANT: Schema = {
    "anyOf": [
        {"type": "string", "maxLength": INSTANT_TEXT_MAX},
        {"type": "integer", "minimum": 0, "maximum": INSTANT_MAX},
    ],
    "example": "2023-08-03T10:15:00Z",
}
DAY: Schema = {**INSTANT, "example": "25-12-2021"}
