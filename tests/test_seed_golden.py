"""The demo store answers the seed document's sample response exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress import demo

SEED = json.loads((Path(__file__).parent / "data" / "seed_response.json").read_text())
URL = f"/api/v1/learners/{demo.LEARNER_ID}/course-progress"


def typed(value: Any) -> Any:
    """Values with their JSON types made explicit, so 200 and "200" (or 1 and True) differ."""
    if isinstance(value, dict):
        return [(key, typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def test_demo_store_answers_the_seed_sample(
    client: TestClient, demo_store: Engine, read_headers: dict[str, str]
) -> None:
    response = client.get(URL, headers=read_headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    # Same keys in the same order, same values, same JSON types, same row order.
    assert typed(body) == typed(SEED)


def test_ids_are_written_exactly_as_integers(
    client: TestClient, demo_store: Engine, read_headers: dict[str, str]
) -> None:
    raw = client.get(URL, headers=read_headers).text
    assert '"courseId":100004000000045001' in raw
    assert '"batchId":100004000000045013' in raw
    assert '"learnerId":"100004000000036860"' in raw


def test_punctuation_is_not_html_escaped(
    client: TestClient, demo_store: Engine, read_headers: dict[str, str]
) -> None:
    raw = client.get(URL, headers=read_headers).text
    assert '"courseName":' + json.dumps(demo.BLENDED_COURSE_NAME) in raw
    assert "&amp;" not in raw and "\\u0026" not in raw


def test_demo_load_is_idempotent(demo_store: Engine) -> None:
    with demo_store.begin() as connection:
        assert demo.load(connection) is False
