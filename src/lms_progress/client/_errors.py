"""The exceptions the client raises: one class per family of error codes."""

from __future__ import annotations

from typing import Any


class LmsProgressError(Exception):
    """Base of every exception the client raises."""


class TransportError(LmsProgressError):
    """The server could not be reached (connection refused, timeout, dropped), after retries."""


class UnexpectedResponse(LmsProgressError):
    """A success answer that is not the JSON the API documents."""


class ApiError(LmsProgressError):
    """An error answer: the envelope's `code` and `message`, the HTTP status and the raw body."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message if code is None else f"{message} (code {code})")
        self.message = message
        self.code = code
        self.status_code = status_code
        self.body = body


class InvalidRequest(ApiError):
    """400: an invalid, missing or wrongly typed parameter or body (7201-7204)."""


class AuthenticationError(ApiError):
    """401: the token is missing, unknown, expired or revoked (7210, 7211)."""


class TokenRefreshFailed(AuthenticationError):
    """The accounts server refused to refresh the access token (e.g. `invalid_client`)."""


class PermissionDenied(ApiError):
    """403: the token lacks the scope (7218), or the user the permission (9000)."""


class NotFound(ApiError):
    """404: no records (7300), or an unknown learner, course, batch or path (7301)."""


class MethodNotAllowed(ApiError):
    """405 (7302)."""


class Conflict(ApiError):
    """409: a duplicate id (7303) or a conflict with the current state (7304)."""


class PayloadTooLarge(ApiError):
    """413 (7305)."""


class Unprocessable(ApiError):
    """422: a maximum limit exceeded (7220) or input that failed validation (7221)."""


class RateLimited(ApiError):
    """429 / 7209: the threshold lock. `retry_after` is the wait in seconds the server asked for."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        code: int | None = None,
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, code=code, status_code=status_code, body=body)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: a server error (7500) or an unreachable store (7503), after retries."""


# The code families. Zoho's numbers and ours (see docs/api.md); unknown codes fall back to the
# HTTP status, then to ApiError itself.
BY_CODE: dict[int, type[ApiError]] = {
    **dict.fromkeys((7201, 7202, 7203, 7204), InvalidRequest),
    **dict.fromkeys((7210, 7211), AuthenticationError),
    **dict.fromkeys((7218, 9000), PermissionDenied),
    **dict.fromkeys((7300, 7301), NotFound),
    7302: MethodNotAllowed,
    **dict.fromkeys((7303, 7304), Conflict),
    7305: PayloadTooLarge,
    **dict.fromkeys((7220, 7221), Unprocessable),
    7209: RateLimited,
    **dict.fromkeys((7500, 7503), ServerError),
}

BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    422: Unprocessable,
    429: RateLimited,
}


def error_class(code: int | None, status_code: int) -> type[ApiError]:
    if code is not None and code in BY_CODE:
        return BY_CODE[code]
    if status_code >= 500:
        return ServerError
    return BY_STATUS.get(status_code, ApiError)
