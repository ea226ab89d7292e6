"""What every write endpoint promises: it works, it checks the token's scope, it refuses bad
input with a 4xx in the envelope, and a refused call leaves the store exactly as it was."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress.auth.tokens import Operation
from lms_progress.http.body import MAX_BODY_BYTES
from tests.writes_support import CALLS, UNKNOWN, Call, build_world, dump, headers

WRITES = (Operation.CREATE, Operation.UPDATE, Operation.DELETE)


@pytest.fixture
def world(engine: Engine) -> Engine:
    build_world(engine)
    return engine


def by_name(calls: list[Call]) -> dict[str, object]:
    return {"argvalues": calls, "ids": [call.name for call in calls]}


BAD_BODIES = {
    "invalid JSON": (b'{"name": ', 400, 7203),
    "array": (b"[1, 2]", 400, 7203),
    "number": (b"42", 400, 7203),
    "string": (b'"text"', 400, 7203),
    "null": (b"null", 400, 7203),
    "not UTF-8": (b'{"name": "\xff"}', 400, 7203),
    "too large": (b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}', 413, 7305),
}
MALFORMED_IDS = (("abc", 7204), ("1.5", 7204), ("0", 7201), ("-5", 7201), (str(2**63), 7201))


def _path_ids(call: Call) -> list[tuple[int, int]]:
    """(start, end) of each id in the call's path."""
    return [m.span() for m in re.finditer(r"(?<=/)[0-9]+(?=/|$)", call.path)]


class Refusals:
    """Sends refused requests, each group as its own API user (the rate limit counts per user),
    and checks each answer's envelope."""

    def __init__(self, client: TestClient, engine: Engine, call: Call) -> None:
        self.client, self.engine, self.call = client, engine, call
        self.user = 100

    def auth(self, *operations: Operation) -> dict[str, str]:
        self.user += 1
        return headers(self.engine, *(operations or (self.call.scope,)), user_id=self.user)

    def expect(self, what: str, response: httpx.Response, status: int, code: int) -> None:
        assert response.status_code == status, (what, response.text)
        assert response.headers["content-type"] == "application/json", what
        body = response.json()
        assert (body["status"], body["code"]) == ("failure", code), (what, body)
        assert body["message"], what

    def scopes(self) -> None:
        call = self.call
        self.expect("no token", call.send(self.client, {}), 401, 7210)
        others = [op for op in WRITES if op != call.scope]
        for ops in ((Operation.READ,), (Operation.READ, *others)):
            response = call.send(self.client, self.auth(*ops))
            self.expect(f"scopes {ops}", response, 403, 7218)
            assert call.scope.value in response.json()["message"]

    def bodies(self) -> None:
        call, auth = self.call, self.auth()
        for what, (content, status, code) in BAD_BODIES.items():
            response = call.send(
                self.client, {**auth, "content-type": "application/json"}, content=content
            )
            self.expect(what, response, status, code)

    def named_object(self) -> None:
        call = self.call
        assert call.data_name is not None
        auth = self.auth()
        for value in ([call.data], "[1]", "{", 5, True):
            response = call.send(self.client, auth, json={call.data_name: value})
            self.expect(f"json {value!r}", response, 400, 7203)
        auth = self.auth()
        for text in ("[1]", "{", "5", "true", "null"):
            response = call.send(self.client, auth, params={call.data_name: text})
            self.expect(f"query {text!r}", response, 400, 7203)
        if call.data_required:
            response = self.client.request(call.method, call.path, headers=self.auth())
            self.expect("missing", response, 400, 7202)
            assert call.data_name in response.json()["message"]

    def path_ids(self) -> None:
        call, auth = self.call, self.auth()
        for start, end in _path_ids(call):
            path = call.path[:start] + str(UNKNOWN) + call.path[end:]
            self.expect(f"unknown id in {path}", call.send(self.client, auth, path=path), 404, 7301)
        start, end = _path_ids(call)[0]
        auth = self.auth()
        for text, code in MALFORMED_IDS:
            path = call.path[:start] + text + call.path[end:]
            self.expect(f"id {text!r}", call.send(self.client, auth, path=path), 400, code)


@pytest.mark.parametrize("call", **by_name(CALLS))
def test_refused_calls_change_nothing_and_the_good_one_writes(
    client: TestClient, world: Engine, call: Call
) -> None:
    before = dump(world)
    refusals = Refusals(client, world, call)
    refusals.scopes()
    if call.data_name is not None:
        refusals.bodies()
        refusals.named_object()
    if _path_ids(call):
        refusals.path_ids()
    assert dump(world) == before
    # After all that, the same store takes the good request, and answers in the envelope.
    response = call.send(client, refusals.auth())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == "200" and body["status"] == "success"
    # Every id in the answer is a string of digits (or "" for "no batch"), as Zoho writes them.
    for key, value in body.items():
        if key.endswith("Id"):
            assert value == "" or re.fullmatch(r"[1-9][0-9]{0,18}", value), (key, value)
    assert dump(world) != before
