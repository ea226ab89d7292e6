"""Servers for the client's tests: a real lms-progress process, and a small scripted HTTP server
(a stand-in for Zoho's accounts host, or for answers lms-progress cannot be made to give)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson
import pytest
import uvicorn
from sqlalchemy import Engine

from lms_progress.store import migrate
from lms_progress.store.engine import make_engine


def listening_socket() -> socket.socket:
    """A socket bound to a free port and listening: handed to a server, so no port race."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


class LmsServer:
    """`uvicorn lms_progress.app:factory` in its own process, on a temporary SQLite file that the
    test fills through `engine` (the same write functions the service uses)."""

    def __init__(
        self, directory: Path, database_url: str | None = None, **settings: object
    ) -> None:
        self.database_url = database_url or f"sqlite:///{directory / 'lms.db'}"
        self.engine: Engine = make_engine(self.database_url)
        if database_url is None:
            migrate.upgrade(self.engine)
        self._settings = {f"LMS_PROGRESS_{k.upper()}": str(v) for k, v in settings.items()}
        self._log = directory / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> LmsServer:
        sock = listening_socket()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = {
            **os.environ,
            "LMS_PROGRESS_DATABASE_URL": self.database_url,
            "LMS_PROGRESS_TIMEZONE": "UTC",
            **self._settings,
        }
        command = [sys.executable, "-m", "uvicorn", "lms_progress.app:factory", "--factory"]
        command += ["--fd", str(sock.fileno()), "--log-level", "warning", "--no-access-log"]
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                command, env=env, pass_fds=[sock.fileno()], stdout=log, stderr=subprocess.STDOUT
            )
        sock.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"lms-progress server exited:\n{self.log()}")
            try:
                # Any answer will do (401 without a token): the app is up.
                httpx.get(self.url + "/api/v1/learners/1/course-progress", timeout=5)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"lms-progress server did not start:\n{self.log()}")

    def log(self) -> str:
        return self._log.read_text(errors="replace")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self.engine.dispose()


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    body: bytes
    headers: dict[str, str]
    at: float


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Seen], Reply]


class ScriptedServer:
    """A uvicorn server in a thread whose answers come from `handler`; it records every request."""

    def __init__(self, sock: socket.socket | None = None) -> None:
        self._sock = sock or listening_socket()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.handler: Handler = lambda seen: Reply(404, {"error": "no handler"})
        self.seen: list[Seen] = []
        config = uvicorn.Config(
            self._app, interface="asgi3", log_level="warning", lifespan="off", ws="none"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> ScriptedServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("scripted server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def calls(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen = Seen(
            method=scope["method"],
            path=scope["path"],
            query=dict(parse_qsl(scope["query_string"].decode())),
            form=dict(parse_qsl(body.decode(errors="replace"))),
            body=body,
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            at=time.monotonic(),
        )
        self.seen.append(seen)
        reply = self.handler(seen)
        content = reply.body if isinstance(reply.body, bytes) else orjson.dumps(reply.body)
        headers = {"content-type": "application/json", **reply.headers}
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": content})


class CountingTransport(httpx.HTTPTransport):
    """The real transport, counting the requests it sends (connection failures included)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.URL] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url)
        return super().handle_request(request)


class AsyncCountingTransport(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.URL] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url)
        return await super().handle_async_request(request)


def lms_fixture(**settings: object) -> Any:
    """A module-scoped fixture: one lms-progress server process with these settings."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LmsServer]:
        lms = LmsServer(tmp_path_factory.mktemp("lms"), **settings).start()
        yield lms
        lms.stop()

    return server


def scripted_fixture() -> Any:
    """A fixture: a fresh scripted server per test."""

    @pytest.fixture
    def server() -> Iterator[ScriptedServer]:
        scripted = ScriptedServer().start()
        yield scripted
        scripted.stop()

    return server
