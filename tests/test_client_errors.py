"""Every error answer becomes its family's exception, carrying the code and the message: from a
real lms-progress process where it can be made to give the answer, and from a scripted server for
every code in the server's table."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from lms_progress.auth.tokens import Operation
from lms_progress.client import (
    ApiError,
    AuthenticationError,
    Client,
    Conflict,
    InvalidRequest,
    LmsProgressError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    TransportError,
    UnexpectedResponse,
    Unprocessable,
)
from lms_progress.errors import ErrorCode, error_body
from tests import builders
from tests.client_servers import (
    CountingTransport,
    LmsServer,
    Reply,
    ScriptedServer,
    lms_fixture,
    scripted_fixture,
)
from tests.conftest import new_token

lms = lms_fixture(rate_limit_threshold=2, rate_limit_window_seconds=60, rate_limit_lock_seconds=30)
# A store that cannot be reached: a PostgreSQL URL on a port where nothing listens.
lms_without_store = lms_fixture(database_url="postgresql+psycopg://postgres@127.0.0.1:9/none")
scripted = scripted_fixture()

_users = itertools.count(3_000)

# The families by HTTP status, as docs/api.md's table groups the codes.
FAMILY_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    422: Unprocessable,
    429: RateLimited,
    500: ServerError,
    503: ServerError,
}

LEARNER_PATH = "/api/v1/learners/{}/course-progress"


def read_token(server: LmsServer, *operations: Operation) -> str:
    return new_token(server.engine, *operations, user_id=next(_users))


Call = Callable[[Client, int], Any]

REAL_SERVER_CASES: list[tuple[str, Call, type[ApiError], int]] = [
    ("id 0", lambda c, learner: c.learner_progress_page(0), InvalidRequest, 7201),
    (
        "id not a number",
        lambda c, learner: c.request("GET", LEARNER_PATH.format("abc")),
        InvalidRequest,
        7204,
    ),
    (
        "startIndex negative",
        lambda c, learner: c.learner_progress_page(learner, start_index=-1),
        InvalidRequest,
        7201,
    ),
    (
        "unknown learner",
        lambda c, learner: c.learner_progress_page(learner + 10**9),
        NotFound,
        7301,
    ),
    (
        "not enrolled",
        lambda c, learner: c.course_progress(123_456_789, learner),
        NotFound,
        7301,
    ),
    (
        "method",
        lambda c, learner: c.request("DELETE", LEARNER_PATH.format(learner)),
        MethodNotAllowed,
        7302,
    ),
]


@pytest.mark.parametrize(
    ("call", "family", "code"),
    [case[1:] for case in REAL_SERVER_CASES],
    ids=[case[0] for case in REAL_SERVER_CASES],
)
def test_the_real_server_s_errors(
    lms: LmsServer, call: Call, family: type[ApiError], code: int
) -> None:
    learner = builders.learner(lms.engine)
    with Client(lms.url, token=read_token(lms)) as client, pytest.raises(family) as raised:
        call(client, learner)
    assert raised.value.code == code
    assert FAMILY_BY_STATUS[raised.value.status_code or 0] is family
    assert raised.value.body["code"] == code
    assert raised.value.message == raised.value.body["message"]


def test_an_unknown_token_is_an_authentication_error(lms: LmsServer) -> None:
    with Client(lms.url, token="1000.dead.beef") as client, pytest.raises(AuthenticationError) as e:
        client.learner_progress_page(1)
    assert (e.value.code, e.value.status_code) == (7211, 401)


def test_a_token_without_read_scope_is_permission_denied(lms: LmsServer) -> None:
    token = read_token(lms, Operation.CREATE)
    with Client(lms.url, token=token) as client, pytest.raises(PermissionDenied) as denied:
        client.learner_progress_page(1)
    assert (denied.value.code, denied.value.status_code) == (7218, 403)
    assert "ZOHOPEOPLE.training.READ" in denied.value.message


def test_the_lock_is_rate_limited_with_the_servers_retry_after(lms: LmsServer) -> None:
    learner = builders.learner(lms.engine)
    with Client(lms.url, token=read_token(lms), on_rate_limit="raise") as client:
        client.learner_progress_page(learner)
        client.learner_progress_page(learner)
        with pytest.raises(RateLimited) as locked:
            client.learner_progress_page(learner)
    assert (locked.value.code, locked.value.status_code) == (7209, 429)
    assert locked.value.retry_after == 30.0


def test_an_unreachable_store_is_a_server_error_after_retries(
    lms_without_store: LmsServer,
) -> None:
    transport = CountingTransport()
    with (
        Client(
            lms_without_store.url,
            token="1000.a.b",
            max_retries=2,
            backoff=0.01,
            transport=transport,
        ) as client,
        pytest.raises(ServerError) as failed,
    ):
        client.learner_progress_page(1)
    # The client's part: a 5xx, retried, then raised with the envelope's code (the server's
    # choice of 500 or 503 is its own tests' business).
    assert failed.value.status_code is not None and failed.value.status_code >= 500
    assert failed.value.code == failed.value.body["code"] in (7500, 7503)
    assert len(transport.sent) == 3


@pytest.mark.parametrize("error", list(ErrorCode), ids=[e.name for e in ErrorCode])
def test_every_code_of_the_server_s_table_has_its_family(
    scripted: ScriptedServer, error: ErrorCode
) -> None:
    headers = {"Retry-After": "7"} if error is ErrorCode.THRESHOLD_LOCKED else {}
    scripted.handler = lambda seen: Reply(error.http_status, error_body(error), headers)
    with (
        Client(scripted.url, token="1000.a.b", on_rate_limit="raise", max_retries=0) as client,
        pytest.raises(LmsProgressError) as raised,
    ):
        client.learner_progress_page(1)
    assert type(raised.value) is FAMILY_BY_STATUS[error.http_status]
    assert isinstance(raised.value, ApiError)
    assert raised.value.code == error.code and raised.value.message == error.message
    assert raised.value.status_code == error.http_status
    assert str(error.code) in str(raised.value)
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after == 7.0


def test_zoho_s_older_error_shape_counts_even_with_status_200(scripted: ScriptedServer) -> None:
    body = {"response": {"errors": {"code": 7218, "message": "Invalid OAuth scope"}, "status": 1}}
    scripted.handler = lambda seen: Reply(200, body)
    with Client(scripted.url, token="1000.a.b") as client, pytest.raises(PermissionDenied) as e:
        client.learner_progress_page(1)
    assert (e.value.code, e.value.message, e.value.body) == (7218, "Invalid OAuth scope", body)


def test_a_lock_without_retry_after_assumes_zoho_s_five_minutes(scripted: ScriptedServer) -> None:
    # Zoho does not document the status or a Retry-After for 7209; the code alone decides.
    body = {"code": "7209", "message": "API access blocked", "status": "failure"}
    scripted.handler = lambda seen: Reply(400, body)
    with (
        Client(scripted.url, token="1000.a.b", on_rate_limit="raise") as client,
        pytest.raises(RateLimited) as locked,
    ):
        client.learner_progress_page(1)
    assert (locked.value.code, locked.value.retry_after) == (7209, 300.0)


def test_an_unknown_code_and_status_is_the_base_api_error(scripted: ScriptedServer) -> None:
    scripted.handler = lambda seen: Reply(418, {"code": 1234, "message": "teapot"})
    with Client(scripted.url, token="1000.a.b") as client, pytest.raises(ApiError) as raised:
        client.learner_progress_page(1)
    assert type(raised.value) is ApiError
    assert (raised.value.code, raised.value.status_code) == (1234, 418)


def test_a_gateway_error_page_is_a_server_error_without_code(scripted: ScriptedServer) -> None:
    scripted.handler = lambda seen: Reply(502, b"<html>Bad Gateway</html>")
    with (
        Client(scripted.url, token="1000.a.b", max_retries=1, backoff=0.01) as client,
        pytest.raises(ServerError) as failed,
    ):
        client.learner_progress_page(1)
    assert failed.value.code is None and failed.value.status_code == 502
    assert failed.value.body == "<html>Bad Gateway</html>"
    assert len(scripted.seen) == 2


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (Reply(200, b"<html>login</html>"), "not JSON"),
        (Reply(200, {"status": "success"}), "not a course-progress body"),
        (
            Reply(200, {"courseProgress": [], "learnerId": "1", "hasMoreRecords": True}),
            "empty page",
        ),
        (
            Reply(200, {"courseProgress": [{"courseId": 1.5}], "learnerId": "1"}),
            "courseId must be an integer",
        ),
        (
            Reply(
                200,
                {
                    "courseProgress": [{"courseId": 1, "type": 1, "enrolledDate": "2023-13-45"}],
                    "learnerId": "1",
                },
            ),
            "enrolledDate is not a date",
        ),
    ],
    ids=["html", "no rows", "more on an empty page", "float id", "bad date"],
)
def test_a_body_that_is_not_the_documented_json_is_unexpected(
    scripted: ScriptedServer, reply: Reply, match: str
) -> None:
    scripted.handler = lambda seen: reply
    with (
        Client(scripted.url, token="1000.a.b") as client,
        pytest.raises(UnexpectedResponse, match=match),
    ):
        list(client.iter_course_progress(1))


def test_every_exception_is_an_lms_progress_error() -> None:
    for family in {*FAMILY_BY_STATUS.values(), TransportError, UnexpectedResponse}:
        assert issubclass(family, LmsProgressError)
