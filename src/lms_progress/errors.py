"""The error envelope and the table of stable error codes (documented in docs/api.md)."""

from __future__ import annotations

from enum import Enum

import orjson
from starlette.responses import Response


class ErrorCode(Enum):
    """(numeric code, HTTP status, default message). Zoho's numbers where the meaning matches."""

    WRONG_DATA_TYPE = (7204, 400, "Wrong data type for the parameter")
    INVALID_PARAMETER = (7201, 400, "Invalid parameter value")
    MISSING_PARAMETER = (7202, 400, "Input parameter missing")
    MALFORMED_BODY = (7203, 400, "The request body is not valid")
    TOKEN_MISSING = (7210, 401, "Authorization header missing")
    TOKEN_INVALID = (7211, 401, "Invalid OAuth token")
    INVALID_SCOPE = (7218, 403, "Invalid OAuth scope")
    PERMISSION_DENIED = (9000, 403, "Sorry! You are not authorized to do this operation")
    NO_RECORDS = (7300, 404, "No records found")
    NOT_FOUND = (7301, 404, "Not found")
    METHOD_NOT_ALLOWED = (7302, 405, "Method not allowed")
    DUPLICATE_ID = (7303, 409, "A record with this id already exists")
    CONFLICT = (7304, 409, "The request conflicts with the current state")
    PAYLOAD_TOO_LARGE = (7305, 413, "Request body too large")
    LIMIT_EXCEEDED = (7220, 422, "Maximum limit exceeded")
    VALIDATION_FAILED = (7221, 422, "The input failed validation")
    THRESHOLD_LOCKED = (
        7209,
        429,
        "API access blocked since threshold limit exceeded. Please try after some time",
    )
    SERVER_ERROR = (7500, 500, "Sorry! Server error occured")
    UNAVAILABLE = (7503, 503, "Service temporarily unavailable")

    @property
    def code(self) -> int:
        return self.value[0]

    @property
    def http_status(self) -> int:
        return self.value[1]

    @property
    def message(self) -> str:
        return self.value[2]


class ApiError(Exception):
    """Raised anywhere below the HTTP layer's handlers; rendered as the error envelope."""

    def __init__(
        self,
        error: ErrorCode,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or error.message)
        self.error = error
        self.message = message or error.message
        self.headers = headers

    def response(self) -> Response:
        return error_response(self.error, self.message, self.headers)


def error_body(error: ErrorCode, message: str | None = None) -> bytes:
    return orjson.dumps(
        {"code": error.code, "message": message or error.message, "status": "failure"}
    )


def error_response(
    error: ErrorCode, message: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        error_body(error, message),
        status_code=error.http_status,
        headers=headers,
        media_type="application/json",
    )
