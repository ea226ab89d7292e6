"""Whatever a client sends to a write endpoint, the answer is 200 or a 4xx in the envelope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress.app import create_app
from lms_progress.auth.tokens import Operation
from lms_progress.settings import Settings
from tests.writes_support import WITH_DATA, Call, build_world, headers

KEYS = [
    "id", "name", "type", "description", "startDate", "endDate", "maximumCapacity", "isMandatory",
    "isPublished", "maximumMarks", "email", "imageURL", "managerId", "active", "enrolledAt",
    "startedAt", "completedAt", "score", "awardedMarks", "evaluatedBy", "maximumMarks",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64) + 1, max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
# Values that once broke, or nearly broke, a check: drawn as often as all the others together.
nasty = st.sampled_from(
    ["1", "0", "-1", "1e999999", "1e100000000", "31-02-2024", "2024-01-01T00:00:00Z", "true",
     "\x00", "\ud800", "9" * 25, str(2**63), "", " ", "1.5", "NaN"]
)  # fmt: skip
json_values = nasty | st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


JSON = "application/json"


# One store for all examples, with a rate limit no example run reaches.
@pytest.fixture
def fuzz_app(settings: Settings) -> Iterator[FastAPI]:
    app: FastAPI = create_app(settings.model_copy(update={"rate_limit_threshold": 10**9}))
    build_world(app.state.ctx.engine)
    yield app
    app.state.ctx.engine.dispose()


@pytest.fixture
def fuzz_client(fuzz_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(fuzz_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def fuzz_headers(fuzz_app: FastAPI) -> dict[str, str]:
    engine: Engine = fuzz_app.state.ctx.engine
    return headers(engine, Operation.ALL)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(call=st.sampled_from(WITH_DATA), draw=st.data(), wrapped=st.booleans())
def test_no_input_makes_a_write_fail_with_a_500(
    fuzz_client: TestClient, fuzz_headers: dict[str, str], call: Call, draw: st.DataObject,
    wrapped: bool,
) -> None:  # fmt: skip
    # Start from a good object and change a few keys, so that every field's check is reached.
    changes = draw.draw(
        st.dictionaries(
            st.sampled_from(sorted({*call.data}) or KEYS) | st.sampled_from(KEYS),
            json_values,
            max_size=3,
        )
    )
    data = {**call.data, **changes}
    body: Any = {call.data_name: data} if wrapped else data
    # json.dumps escapes what UTF-8 cannot carry (lone surrogates): the server must refuse it.
    content = json.dumps(body).encode()
    response = fuzz_client.request(
        call.method, call.path, content=content, headers={**fuzz_headers, "content-type": JSON}
    )
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json"
    expected = "success" if response.status_code == 200 else "failure"
    assert response.json()["status"] == expected
