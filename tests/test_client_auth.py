"""Token refresh: a real lms-progress process, and an accounts token endpoint served by the test
that hands out real tokens of that server."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

import pytest

from lms_progress.client import AsyncClient, AuthenticationError, Client, TokenRefreshFailed
from tests import builders
from tests.client_servers import (
    CountingTransport,
    LmsServer,
    Reply,
    ScriptedServer,
    Seen,
    lms_fixture,
    scripted_fixture,
)
from tests.conftest import new_token

lms = lms_fixture()
accounts = scripted_fixture()

_users = itertools.count(2_000)
CREDENTIALS = {
    "refresh_token": "1000.refresh.token",
    "client_id": "1000.CLIENT",
    "client_secret": "s3",
}
TOKEN_PATH = "/oauth/v2/token"


def token_endpoint(mint: Callable[[], str], expires_in: float = 3600) -> Callable[[Seen], Reply]:
    """Zoho's refresh grant: the right form gets a new access token, anything else an error."""

    def handle(seen: Seen) -> Reply:
        if seen.method != "POST" or seen.path != TOKEN_PATH:
            return Reply(404, {"error": "not found"})
        if seen.form != {**CREDENTIALS, "grant_type": "refresh_token"}:
            return Reply(200, {"error": "invalid_client"})
        body = {"access_token": mint(), "api_domain": "https://www.zohoapis.com"}
        return Reply(200, {**body, "token_type": "Bearer", "expires_in": expires_in})

    return handle


def client_for(lms: LmsServer, accounts: ScriptedServer, **options: object) -> Client:
    return Client(lms.url, accounts_url=accounts.url, **CREDENTIALS, **options)  # type: ignore[arg-type]


def test_the_first_call_gets_a_token_by_refresh_grant(
    lms: LmsServer, accounts: ScriptedServer
) -> None:
    user = next(_users)
    accounts.handler = token_endpoint(lambda: new_token(lms.engine, user_id=user))
    learner = builders.learner(lms.engine, "Refreshed")
    with client_for(lms, accounts) as client:
        assert client.learner_progress_page(learner).learner_name == "Refreshed"
        assert client.learner_progress_page(learner).learner_name == "Refreshed"
    (grant,) = accounts.calls(TOKEN_PATH)
    assert grant.form["grant_type"] == "refresh_token"
    assert grant.headers["content-type"] == "application/x-www-form-urlencoded"


def test_the_token_is_renewed_before_it_expires(lms: LmsServer, accounts: ScriptedServer) -> None:
    user = next(_users)
    # Two-second tokens: renewed after one second (halfway), before the server would refuse them.
    accounts.handler = token_endpoint(lambda: new_token(lms.engine, user_id=user), expires_in=2)
    learner = builders.learner(lms.engine)
    transport = CountingTransport()
    with client_for(lms, accounts, transport=transport) as client:
        client.learner_progress_page(learner)
        client.learner_progress_page(learner)
        assert len(accounts.calls(TOKEN_PATH)) == 1
        time.sleep(1.05)
        client.learner_progress_page(learner)
    assert len(accounts.calls(TOKEN_PATH)) == 2
    api_calls = [url for url in transport.sent if url.path != TOKEN_PATH]
    assert len(api_calls) == 3  # no call was refused


def test_a_401_refreshes_once_and_repeats_the_call(
    lms: LmsServer, accounts: ScriptedServer
) -> None:
    user = next(_users)
    accounts.handler = token_endpoint(lambda: new_token(lms.engine, user_id=user))
    expired = new_token(lms.engine, user_id=user, expires_at=1)
    learner = builders.learner(lms.engine)
    transport = CountingTransport()
    with client_for(lms, accounts, token=expired, transport=transport) as client:
        assert client.learner_progress_page(learner).learner_id == learner
    assert len(accounts.calls(TOKEN_PATH)) == 1
    assert len([url for url in transport.sent if url.path != TOKEN_PATH]) == 2


def test_a_refreshed_token_that_is_refused_again_is_an_error(
    lms: LmsServer, accounts: ScriptedServer
) -> None:
    accounts.handler = token_endpoint(lambda: "1000.unknown.token")
    transport = CountingTransport()
    with (
        client_for(lms, accounts, transport=transport) as client,
        pytest.raises(AuthenticationError) as refused,
    ):
        client.learner_progress_page(1)
    assert (refused.value.code, refused.value.status_code) == (7211, 401)
    # First token, refused; one refresh, refused again; no loop.
    assert len(accounts.calls(TOKEN_PATH)) == 2
    assert len([url for url in transport.sent if url.path != TOKEN_PATH]) == 2


def test_a_refused_grant_is_token_refresh_failed(lms: LmsServer, accounts: ScriptedServer) -> None:
    accounts.handler = token_endpoint(lambda: "never")
    options = {**CREDENTIALS, "client_secret": "wrong"}
    transport = CountingTransport()
    with (
        Client(lms.url, accounts_url=accounts.url, transport=transport, **options) as client,
        pytest.raises(TokenRefreshFailed, match="invalid_client") as refused,
    ):
        client.learner_progress_page(1)
    assert isinstance(refused.value, AuthenticationError)
    assert refused.value.body == {"error": "invalid_client"}
    assert [url.path for url in transport.sent] == [TOKEN_PATH]


def test_a_fixed_token_is_not_refreshed(lms: LmsServer) -> None:
    transport = CountingTransport()
    with (
        Client(lms.url, token="1000.not.known", transport=transport) as client,
        pytest.raises(AuthenticationError) as refused,
    ):
        client.learner_progress_page(1)
    assert refused.value.code == 7211
    assert len(transport.sent) == 1


def test_the_async_client_refreshes_on_401(lms: LmsServer, accounts: ScriptedServer) -> None:
    user = next(_users)
    accounts.handler = token_endpoint(lambda: new_token(lms.engine, user_id=user))
    revoked = "1000.revoked.token"
    learner = builders.learner(lms.engine, "Async")

    async def read() -> str:
        async with AsyncClient(
            lms.url, token=revoked, accounts_url=accounts.url, **CREDENTIALS
        ) as client:
            pages = await asyncio.gather(*(client.learner_progress_page(learner) for _ in range(3)))
        return pages[0].learner_name

    assert asyncio.run(read()) == "Async"
    # Three concurrent calls refused together share one refresh.
    assert len(accounts.calls(TOKEN_PATH)) == 1
