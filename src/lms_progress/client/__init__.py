"""A Python client for lms-progress and for Zoho People's LMS API (see docs/client.md).

Everything public is re-exported here; the modules behind it are private.
"""

from lms_progress.client._client import AsyncClient, Client, RateLimitMode
from lms_progress.client._errors import (
    ApiError,
    AuthenticationError,
    Conflict,
    InvalidRequest,
    LmsProgressError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    TokenRefreshFailed,
    TransportError,
    UnexpectedResponse,
    Unprocessable,
)
from lms_progress.client._models import CourseProgress, ProgressPage, ProgressType
from lms_progress.client._targets import DATA_CENTRES, ZohoHosts, zoho_hosts

__all__ = [
    "DATA_CENTRES",
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "Conflict",
    "CourseProgress",
    "InvalidRequest",
    "LmsProgressError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "ProgressPage",
    "ProgressType",
    "RateLimitMode",
    "RateLimited",
    "ServerError",
    "TokenRefreshFailed",
    "TransportError",
    "UnexpectedResponse",
    "Unprocessable",
    "ZohoHosts",
    "zoho_hosts",
]
