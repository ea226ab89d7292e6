"""The client against a real lms-progress server process: paging, typed rows, P2, the async twin,
the threshold lock, connection failures and retries."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import lms_progress.client as client_module
from lms_progress import demo
from lms_progress.client import (
    AsyncClient,
    Client,
    CourseProgress,
    NotFound,
    ProgressType,
    RateLimited,
    ServerError,
    TransportError,
    zoho_hosts,
)
from tests import builders
from tests.client_servers import (
    AsyncCountingTransport,
    CountingTransport,
    LmsServer,
    Reply,
    ScriptedServer,
    lms_fixture,
    scripted_fixture,
)
from tests.conftest import new_token

PAGE_SIZE = 2
LOCK = {"rate_limit_threshold": 3, "rate_limit_window_seconds": 60, "rate_limit_lock_seconds": 1}

lms = lms_fixture(page_size=PAGE_SIZE)
locking_lms = lms_fixture(**LOCK)
scripted = scripted_fixture()

# One API user per test: the rate limit counts per user, so tests do not share a budget.
_users = itertools.count(1_000)
SEED = json.loads((Path(__file__).parent / "data" / "seed_response.json").read_text())


def token_for(server: LmsServer) -> str:
    return new_token(server.engine, user_id=next(_users))


def learner_with_courses(server: LmsServer, count: int) -> tuple[int, list[int]]:
    """A learner enrolled in `count` courses on successive days; returns the learner and the
    course ids newest enrolment first (the API's order)."""
    learner = builders.learner(server.engine, "Paging Learner")
    course_ids = []
    for day in range(count):
        course_id, _, entities = builders.course(server.engine, 4, name=f"Course {day}")
        builders.enrol(server.engine, learner, course_id, builders.at(2024, 1, day + 1))
        for entity in entities[: day % 5]:
            builders.complete(server.engine, learner, entity, builders.at(2024, 2, 1))
        course_ids.append(course_id)
    return learner, course_ids[::-1]


def test_public_surface_is_pinned() -> None:
    assert set(client_module.__all__) == {
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
    }


@pytest.mark.parametrize("centre", ["com", "eu", "in", "com.au", "jp", "com.cn", "sa"])
def test_a_zoho_data_centre_names_its_people_and_accounts_hosts(centre: str) -> None:
    assert zoho_hosts(centre).people == f"https://people.zoho.{centre}"
    with Client(
        data_centre=centre, refresh_token="1000.r", client_id="id", client_secret="s"
    ) as client:
        assert client.base_url == f"https://people.zoho.{centre}"
        assert client.token_url == f"https://accounts.zoho.{centre}/oauth/v2/token"


def test_a_target_is_a_url_or_a_known_data_centre() -> None:
    with pytest.raises(ValueError, match="unknown Zoho data centre"):
        Client(data_centre="moon", token="t")
    with pytest.raises(ValueError, match="either base_url"):
        Client("http://127.0.0.1:1", data_centre="eu", token="t")
    with pytest.raises(ValueError, match="accounts_url"):
        Client("http://127.0.0.1:1", refresh_token="r", client_id="i", client_secret="s")


def test_paging_follows_has_more_records_over_five_pages(lms: LmsServer) -> None:
    learner, expected = learner_with_courses(lms, 9)
    transport = CountingTransport()
    with Client(lms.url, token=token_for(lms), transport=transport) as client:
        pages = list(client.iter_learner_progress_pages(learner))
        rows = list(client.iter_course_progress(learner))
    assert [page.start_index for page in pages] == [0, 2, 4, 6, 8]
    assert [len(page.course_progress) for page in pages] == [2, 2, 2, 2, 1]
    assert [page.has_more_records for page in pages] == [True, True, True, True, False]
    assert [row.course_id for row in rows] == expected
    # startIndex advances by the rows received; one request per page, no extra one at the end.
    assert [str(url.params["startIndex"]) for url in transport.sent] == [
        "0",
        "2",
        "4",
        "6",
        "8",
    ] * 2
    assert [row.completed_entities_count for row in rows] == [day % 5 for day in range(9)][::-1]


def test_a_full_last_page_ends_the_paging(lms: LmsServer) -> None:
    learner, expected = learner_with_courses(lms, 8)
    transport = CountingTransport()
    with Client(lms.url, token=token_for(lms), transport=transport) as client:
        rows = list(client.iter_course_progress(learner))
    assert [row.course_id for row in rows] == expected
    assert len(transport.sent) == 4


def test_a_learner_without_courses_is_one_empty_page(lms: LmsServer) -> None:
    learner = builders.learner(lms.engine, "Nobody")
    with Client(lms.url, token=token_for(lms)) as client:
        pages = list(client.iter_learner_progress_pages(learner))
    assert len(pages) == 1 and pages[0].course_progress == ()
    assert pages[0].learner_name == "Nobody" and pages[0].learner_id == learner


def test_rows_are_typed_and_keep_the_raw_json(lms: LmsServer) -> None:
    with lms.engine.begin() as connection:
        demo.load(connection)
    with Client(lms.url, token=token_for(lms)) as client:
        (page,) = client.iter_learner_progress_pages(demo.LEARNER_ID)
    blended, self_paced = page.course_progress
    assert page.learner_id == demo.LEARNER_ID and page.learner_name == "Harvey spector"
    assert page.learner_image_url == SEED["learnerImageURL"]
    assert blended == CourseProgress(
        course_id=demo.BLENDED_COURSE_ID,
        course_name=demo.BLENDED_COURSE_NAME,
        type=2,
        course_type="Blended learning",
        batch_id=demo.BATCH_ID,
        batch_name="Batch 1",
        enrolled_date=date(2023, 8, 3),
        completion_date=None,
        completed_in_days=1,
        total_entities_count=4,
        completed_entities_count=1,
        completion_percentage=25,
        completion_status="In progress",
        manager_evaluation_total_marks=None,
        manager_evaluation_marks=None,
        raw={},
    )
    assert self_paced.batch_id is None and self_paced.batch_name is None
    assert self_paced.completed_in_days is None
    assert self_paced.manager_evaluation_total_marks == Decimal("95")
    assert self_paced.manager_evaluation_marks == Decimal("100")
    assert [row.raw for row in page.course_progress] == SEED["courseProgress"]
    assert page.raw["learnerId"] == str(demo.LEARNER_ID)


def test_64_bit_ids_and_a_completed_course_come_back_exactly(lms: LmsServer) -> None:
    learner = builders.learner(lms.engine, "Max", learner_id=2**63 - 2)
    course_id, _, entities = builders.course(lms.engine, 2, course_id=2**63 - 1)
    builders.enrol(lms.engine, learner, course_id, builders.at(2024, 3, 1))
    for entity in entities:
        builders.complete(lms.engine, learner, entity, builders.at(2024, 3, 4))
    with Client(lms.url, token=token_for(lms)) as client:
        (row,) = client.iter_course_progress(learner)
    assert row.course_id == 9_223_372_036_854_775_807
    assert row.completion_status == "Completed" and row.completion_percentage == 100
    assert row.completion_date == date(2024, 3, 4) and row.completed_in_days == 4


def test_single_course_progress_by_batch_and_progress_type(lms: LmsServer) -> None:
    learner = builders.learner(lms.engine)
    course_id, batch_id, entities = builders.course(lms.engine, 4, course_type=2, mandatory=2)
    self_paced, _, _ = builders.course(lms.engine, 3)
    other, _, _ = builders.course(lms.engine, 1)
    builders.enrol(lms.engine, learner, course_id, builders.at(2024, 1, 1), batch_id=batch_id)
    builders.enrol(lms.engine, learner, self_paced, builders.at(2024, 1, 2))
    builders.complete(lms.engine, learner, entities[0], builders.at(2024, 1, 3))
    assert batch_id is not None
    with Client(lms.url, token=token_for(lms)) as client:
        every = client.course_progress(course_id, learner, batch_id=batch_id)
        mandatory = client.course_progress(
            course_id, learner, batch_id=batch_id, progress_type=ProgressType.MANDATORY
        )
        no_batch = client.course_progress(self_paced, learner, batch_id=0)
        plain = client.course_progress(self_paced, learner)
        with pytest.raises(NotFound) as not_enrolled:
            client.course_progress(other, learner)
    assert (every.completed_entities_count, every.total_entities_count) == (1, 4)
    assert every.completion_percentage == 25 and every.batch_id == batch_id
    assert (mandatory.total_entities_count, mandatory.completion_percentage) == (2, 50)
    assert no_batch.course_id == plain.course_id == self_paced
    assert no_batch.total_entities_count == 3
    assert not_enrolled.value.code == 7301 and "not enrolled" in not_enrolled.value.message


def test_the_async_client_reads_the_same_rows(lms: LmsServer) -> None:
    learner, expected = learner_with_courses(lms, 7)
    token = token_for(lms)
    transport = AsyncCountingTransport()

    async def read() -> tuple[list[CourseProgress], CourseProgress]:
        async with AsyncClient(lms.url, token=token, transport=transport) as client:
            rows = [row async for row in client.iter_course_progress(learner)]
            single = await client.course_progress(expected[0], learner)
        return rows, single

    rows, single = asyncio.run(read())
    with Client(lms.url, token=token) as client:
        sync_rows = list(client.iter_course_progress(learner))
    assert [row.course_id for row in rows] == expected
    assert rows == sync_rows and [r.raw for r in rows] == [r.raw for r in sync_rows]
    assert single == rows[0]
    assert len(transport.sent) == 5


def test_waits_out_the_lock_and_goes_on(locking_lms: LmsServer) -> None:
    learner = builders.learner(locking_lms.engine)
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    transport = CountingTransport()
    started = time.monotonic()
    with Client(
        locking_lms.url, token=token_for(locking_lms), wait_lock=wait, transport=transport
    ) as client:
        pages = [client.learner_progress_page(learner) for _ in range(5)]
    assert len(pages) == 5
    # The 4th call was refused (threshold 3) and repeated after Retry-After.
    assert waits == [1.0]
    assert len(transport.sent) == 6
    assert time.monotonic() - started >= 1.0


def test_raises_rate_limited_when_asked_to(locking_lms: LmsServer) -> None:
    learner = builders.learner(locking_lms.engine)
    with Client(locking_lms.url, token=token_for(locking_lms), on_rate_limit="raise") as client:
        for _ in range(3):
            client.learner_progress_page(learner)
        with pytest.raises(RateLimited) as locked:
            client.learner_progress_page(learner)
        assert locked.value.retry_after == 1.0
        assert (locked.value.code, locked.value.status_code) == (7209, 429)
        assert "threshold limit exceeded" in locked.value.message
        time.sleep(locked.value.retry_after)
        assert client.learner_progress_page(learner).learner_id == learner


def test_the_async_client_waits_out_the_lock_too(locking_lms: LmsServer) -> None:
    learner = builders.learner(locking_lms.engine)
    token = token_for(locking_lms)
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    async def read() -> int:
        async with AsyncClient(locking_lms.url, token=token, wait_lock=wait) as client:
            pages = [await client.learner_progress_page(learner) for _ in range(4)]
        return len(pages)

    assert asyncio.run(read()) == 4
    assert waits == [1.0]


def test_connection_errors_are_retried_a_bounded_number_of_times() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        transport = CountingTransport()
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        with (
            Client(url, token="1000.a.b", max_retries=2, backoff=0.01, transport=transport) as c,
            pytest.raises(TransportError),
        ):
            c.learner_progress_page(1)
    assert len(transport.sent) == 3


def test_a_server_that_comes_up_late_is_reached() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    late = ScriptedServer(sock)
    late.handler = lambda seen: Reply(200, {**SEED, "courseProgress": []})

    def come_up() -> None:
        sock.listen(128)
        late.start()

    timer = threading.Timer(0.3, come_up)
    timer.start()
    transport = CountingTransport()
    try:
        with Client(
            late.url,
            token="1000.a.b",
            max_retries=8,
            backoff=0.1,
            max_backoff=0.2,
            transport=transport,
        ) as client:
            page = client.learner_progress_page(demo.LEARNER_ID)
    finally:
        timer.join()
        late.stop()
    assert page.course_progress == () and page.learner_name == "Harvey spector"
    assert len(transport.sent) >= 2


def test_5xx_is_retried_with_growing_jittered_back_off(scripted: ScriptedServer) -> None:
    answers = iter([Reply(503, {"code": 7503, "message": "down", "status": "failure"})] * 2)
    scripted.handler = lambda seen: next(answers, Reply(200, SEED))
    with Client(scripted.url, token="1000.a.b", backoff=0.1) as client:
        page = client.learner_progress_page(demo.LEARNER_ID)
    assert len(page.course_progress) == 2
    first, second, third = (seen.at for seen in scripted.seen)
    # Equal jitter: at least half of 0.1 s, then of 0.2 s.
    assert second - first >= 0.05 and third - second >= 0.1


def test_5xx_retries_are_bounded(scripted: ScriptedServer) -> None:
    scripted.handler = lambda seen: Reply(
        500, {"code": 7500, "message": "boom", "status": "failure"}
    )
    with Client(scripted.url, token="1000.a.b", max_retries=2, backoff=0.01) as client:
        with pytest.raises(ServerError) as failed:
            client.learner_progress_page(1)
        assert (failed.value.code, failed.value.message) == (7500, "boom")
        assert len(scripted.seen) == 3
        # A write that reached the server is not repeated.
        with pytest.raises(ServerError):
            client.request("POST", "/api/v1/courses")
        assert len(scripted.seen) == 4


def test_other_calls_send_json_with_the_same_auth(scripted: ScriptedServer) -> None:
    scripted.handler = lambda seen: Reply(200, {"code": 200, "status": "success", "id": 2**63 - 1})
    with Client(scripted.url, token="1000.a.b") as client:
        body = client.request("POST", "/api/v1/learners", json={"learnerData": {"id": 2**63 - 1}})
    assert body["id"] == 9_223_372_036_854_775_807
    (seen,) = scripted.seen
    assert seen.body == b'{"learnerData":{"id":9223372036854775807}}'
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["authorization"] == "Zoho-oauthtoken 1000.a.b"
