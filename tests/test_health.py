"""Health probes: no token, no rate limit, nothing but a status."""

from __future__ import annotations

from starlette.testclient import TestClient


def test_healthz_needs_no_token_and_says_only_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_store(client: TestClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_probes_are_not_rate_limited(client: TestClient) -> None:
    # Far beyond the threshold (30): a load balancer probing often is never locked out.
    statuses = {client.get(path).status_code for _ in range(40) for path in ("/healthz", "/readyz")}
    assert statuses == {200}
