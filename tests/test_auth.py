"""Authentication and scopes (contract section 3)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from lms_progress import demo
from lms_progress.app import create_app
from lms_progress.auth.tokens import Operation, hash_token, revoke_token
from lms_progress.settings import Settings
from lms_progress.store.schema import api_tokens
from tests.conftest import FakeClock, auth, new_token

URL = f"/api/v1/learners/{demo.LEARNER_ID}/course-progress"


def assert_error(response: object, status: int, code: int) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == code
    assert body["status"] == "failure"
    assert isinstance(body["message"], str) and body["message"]


def test_missing_header_is_401(client: TestClient, demo_store: Engine) -> None:
    assert_error(client.get(URL), 401, 7210)


@pytest.mark.parametrize(
    "header",
    [
        "Zoho-oauthtoken 1000.00000000000000000000000000000000.00000000000000000000000000000000",
        "Zoho-oauthtoken",
        "Basic dXNlcjpwYXNz",
        "1000.abc.def",
        "Zoho-oauthtoken ' OR 1=1 --",
    ],
)
def test_unknown_or_malformed_token_is_401(
    client: TestClient, demo_store: Engine, header: str
) -> None:
    assert_error(client.get(URL, headers={"Authorization": header}), 401, 7211)


@pytest.mark.parametrize("scheme", ["Zoho-oauthtoken", "zoho-oauthtoken", "Bearer", "bearer"])
def test_schemes_accepted(client: TestClient, demo_store: Engine, scheme: str) -> None:
    token = new_token(demo_store, Operation.READ)
    assert client.get(URL, headers=auth(token, scheme)).status_code == 200


def revoke(engine: Engine, token: str) -> None:
    with engine.begin() as connection:
        assert revoke_token(connection, token, now=1) is True
        assert revoke_token(connection, token, now=2) is False


def test_revoked_token_is_401_at_once_without_a_cache(
    settings: Settings, demo_store: Engine
) -> None:
    app = create_app(settings.model_copy(update={"token_cache_seconds": 0}))
    token = new_token(demo_store, Operation.READ)
    with TestClient(app) as client:
        assert client.get(URL, headers=auth(token)).status_code == 200
        revoke(demo_store, token)
        assert_error(client.get(URL, headers=auth(token)), 401, 7211)


def test_revocation_elsewhere_takes_effect_within_the_cache_time(
    settings: Settings, demo_store: Engine
) -> None:
    wall = FakeClock(now=1_000_000.0)
    app = create_app(settings.model_copy(update={"token_cache_seconds": 5}), wall_clock=wall)
    token = new_token(demo_store, Operation.READ)
    with TestClient(app) as client:
        assert client.get(URL, headers=auth(token)).status_code == 200
        revoke(demo_store, token)
        wall.advance(4.9)
        assert client.get(URL, headers=auth(token)).status_code == 200  # still cached
        wall.advance(0.2)
        assert_error(client.get(URL, headers=auth(token)), 401, 7211)
        wall.advance(60)
        assert_error(client.get(URL, headers=auth(token)), 401, 7211)


def test_a_cached_token_still_expires_on_time(settings: Settings, demo_store: Engine) -> None:
    wall = FakeClock(now=1_000_000.0)
    app = create_app(settings.model_copy(update={"token_cache_seconds": 60}), wall_clock=wall)
    token = new_token(demo_store, Operation.READ, expires_at=1_000_010)
    with TestClient(app) as client:
        assert client.get(URL, headers=auth(token)).status_code == 200
        wall.advance(9)
        assert client.get(URL, headers=auth(token)).status_code == 200
        wall.advance(1)
        assert_error(client.get(URL, headers=auth(token)), 401, 7211)


def test_expired_token_is_401(client: TestClient, demo_store: Engine) -> None:
    token = new_token(demo_store, Operation.READ, expires_at=1)  # 1970
    assert_error(client.get(URL, headers=auth(token)), 401, 7211)


def test_wrong_scope_is_403(client: TestClient, demo_store: Engine) -> None:
    token = new_token(demo_store, Operation.CREATE, Operation.UPDATE)
    assert_error(client.get(URL, headers=auth(token)), 403, 7218)


def test_all_scope_reads(client: TestClient, demo_store: Engine) -> None:
    token = new_token(demo_store, Operation.ALL)
    assert client.get(URL, headers=auth(token)).status_code == 200


def test_tokens_are_stored_only_as_hashes(demo_store: Engine) -> None:
    token = new_token(demo_store, Operation.READ)
    assert token.startswith("1000.") and len(token.split(".")) == 3
    with demo_store.connect() as connection:
        stored = connection.execute(select(api_tokens.c.token_hash)).scalars().all()
    assert hash_token(token) in stored
    assert all(token not in value for value in stored)


@pytest.mark.parametrize(
    ("text", "operation"),
    [
        ("READ", "READ"),
        ("ZOHOPEOPLE.training.ALL", "ALL"),
        ("zohopeople.training.create", "CREATE"),
    ],
)
def test_scope_names(text: str, operation: str) -> None:
    assert Operation.parse(text) == Operation(operation)


def test_unknown_scope_name() -> None:
    with pytest.raises(ValueError):
        Operation.parse("ZOHOPEOPLE.training.WRITE")
