"""`Client` and `AsyncClient`: one request loop each, around the same decisions (`_Base`).

Each call: take a fresh access token, send, then decide: done, retry after a back-off (5xx,
connection errors), wait out a threshold lock (429 / 7209), refresh the token once (401), or raise.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx
import orjson

from lms_progress import __version__
from lms_progress.client._auth import RefreshingToken, StaticToken, TokenSource
from lms_progress.client._errors import (
    AuthenticationError,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    UnexpectedResponse,
    error_class,
)
from lms_progress.client._json import is_json, loads
from lms_progress.client._models import CourseProgress, ProgressPage, ProgressType
from lms_progress.client._targets import zoho_hosts

RateLimitMode = Literal["wait", "raise"]

# Zoho documents a 5-minute lock; used when a 7209 answer carries no Retry-After.
DEFAULT_LOCK_SECONDS = 300.0
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class _Tries:
    retries: int = 0
    reauthed: bool = False
    lock_waits: int = 0


@dataclass(frozen=True, slots=True)
class _Done:
    body: Any


@dataclass(frozen=True, slots=True)
class _Backoff:
    seconds: float


@dataclass(frozen=True, slots=True)
class _WaitLock:
    seconds: float


@dataclass(frozen=True, slots=True)
class _Reauth:
    token: str


_Step = _Done | _Backoff | _WaitLock | _Reauth


class _Base:
    def __init__(
        self,
        base_url: str | None,
        *,
        data_centre: str | None,
        token: str | None,
        refresh_token: str | None,
        client_id: str | None,
        client_secret: str | None,
        accounts_url: str | None,
        on_rate_limit: RateLimitMode,
        max_lock_waits: int,
        max_retries: int,
        backoff: float,
        max_backoff: float,
    ) -> None:
        if (base_url is None) == (data_centre is None):
            raise ValueError("give either base_url (lms-progress) or data_centre (Zoho)")
        if data_centre is not None:
            hosts = zoho_hosts(data_centre)
            base_url = hosts.people
            accounts_url = accounts_url or hosts.accounts
        assert base_url is not None
        if on_rate_limit not in ("wait", "raise"):
            raise ValueError("on_rate_limit must be 'wait' or 'raise'")
        if max_retries < 0 or max_lock_waits < 0 or backoff < 0 or max_backoff < 0:
            raise ValueError("retry counts and back-off times cannot be negative")
        self.base_url = base_url.rstrip("/")
        self.on_rate_limit = on_rate_limit
        self.max_lock_waits = max_lock_waits
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._tokens = _token_source(token, refresh_token, client_id, client_secret, accounts_url)

    @property
    def token_url(self) -> str | None:
        """The accounts token endpoint used for refreshing, if any."""
        return self._tokens.token_url if isinstance(self._tokens, RefreshingToken) else None

    def _backoff_seconds(self, retry: int) -> float:
        # Exponential, capped, with "equal jitter": never zero, never in lockstep with others.
        ceiling = min(self.max_backoff, self.backoff * 2.0**retry)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _decide(self, method: str, response: httpx.Response, token: str, tries: _Tries) -> _Step:
        status = response.status_code
        body = loads(response.content)
        envelope = _error_envelope(body, status) if is_json(body) else None
        if status < 400 and envelope is None:
            if not is_json(body):
                raise UnexpectedResponse(f"HTTP {status} with a body that is not JSON")
            return _Done(body)
        code, message = envelope or (None, _reason(response))
        raw = body if is_json(body) else response.text
        kind = error_class(code, status)
        if kind is RateLimited:
            wait = _retry_after(response)
            wait = DEFAULT_LOCK_SECONDS if wait is None else wait
            if self.on_rate_limit == "wait" and tries.lock_waits < self.max_lock_waits:
                tries.lock_waits += 1
                return _WaitLock(wait)
            raise RateLimited(message, retry_after=wait, code=code, status_code=status, body=raw)
        if kind is AuthenticationError and self._tokens.refreshable and not tries.reauthed:
            tries.reauthed = True
            return _Reauth(token)
        if kind is ServerError and method in _IDEMPOTENT and tries.retries < self.max_retries:
            # A Retry-After on a 5xx is honoured up to max_backoff; a lock (above) is waited whole.
            asked = min(_retry_after(response) or 0.0, self.max_backoff)
            delay = max(self._backoff_seconds(tries.retries), asked)
            tries.retries += 1
            return _Backoff(delay)
        raise kind(message, code=code, status_code=status, body=raw)

    def _on_transport_error(
        self, method: str, exc: httpx.TransportError, tries: _Tries
    ) -> _Backoff:
        # A request that never connected was not sent, so even a write may be retried.
        unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        if tries.retries < self.max_retries and (method in _IDEMPOTENT or unsent):
            tries.retries += 1
            return _Backoff(self._backoff_seconds(tries.retries - 1))
        raise TransportError(f"{method} {self.base_url}: {exc!r}") from exc


class Client(_Base):
    """A synchronous client for lms-progress or Zoho People's LMS API.

    Give `base_url` (an lms-progress server) or `data_centre` (Zoho: "com", "eu", ...), and
    `token`, or `refresh_token` + `client_id` + `client_secret` (with `accounts_url` when the
    target is not a Zoho data centre).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        data_centre: str | None = None,
        token: str | None = None,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        accounts_url: str | None = None,
        on_rate_limit: RateLimitMode = "wait",
        max_lock_waits: int = 3,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 30.0,
        wait_lock: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            data_centre=data_centre,
            token=token,
            refresh_token=refresh_token,
            client_id=client_id,
            client_secret=client_secret,
            accounts_url=accounts_url,
            on_rate_limit=on_rate_limit,
            max_lock_waits=max_lock_waits,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
        )
        self._wait_lock = wait_lock
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport, headers=_HEADERS
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> Any:
        """Any API call, with the client's auth, retries and errors; returns the parsed JSON.
        `json` is sent as the body."""
        method = method.upper()
        content, headers = _body(json)
        tries = _Tries()
        while True:
            token = self._access_token()
            try:
                response = self._http.request(
                    method, path, params=params, content=content, headers=headers | _auth(token)
                )
            except httpx.TransportError as exc:
                time.sleep(self._on_transport_error(method, exc, tries).seconds)
                continue
            step = self._decide(method, response, token, tries)
            if isinstance(step, _Done):
                return step.body
            if isinstance(step, _Reauth):
                self._tokens.invalidate(step.token)
            elif isinstance(step, _WaitLock):
                self._wait_lock(step.seconds)
            else:
                time.sleep(step.seconds)

    def learner_progress_page(self, learner_id: int, *, start_index: int = 0) -> ProgressPage:
        """One page of a learner's progress in all courses (P1)."""
        body = self.request("GET", _learner_path(learner_id), params={"startIndex": start_index})
        return ProgressPage.from_json(body, start_index)

    def iter_learner_progress_pages(
        self, learner_id: int, *, start_index: int = 0
    ) -> Iterator[ProgressPage]:
        """Every page, advancing `startIndex` by the rows received until `hasMoreRecords` is
        false."""
        index: int | None = start_index
        while index is not None:
            page = self.learner_progress_page(learner_id, start_index=index)
            yield page
            index = _next_index(page)

    def iter_course_progress(self, learner_id: int) -> Iterator[CourseProgress]:
        """Every course of the learner, over as many pages as it takes."""
        for page in self.iter_learner_progress_pages(learner_id):
            yield from page.course_progress

    def course_progress(
        self,
        course_id: int,
        learner_id: int,
        *,
        batch_id: int | None = None,
        progress_type: ProgressType = ProgressType.ALL,
    ) -> CourseProgress:
        """One learner's progress in one course, or one batch of it (P2)."""
        path, params = _course_call(course_id, learner_id, batch_id, progress_type)
        return _single_row(ProgressPage.from_json(self.request("GET", path, params=params), 0))

    def _access_token(self) -> str:
        token = self._tokens.current()
        if token is None:
            assert isinstance(self._tokens, RefreshingToken)
            token = self._tokens.refresh(self._http)
        return token


class AsyncClient(_Base):
    """The asynchronous twin of `Client`: same arguments, same results, awaitable."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        data_centre: str | None = None,
        token: str | None = None,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        accounts_url: str | None = None,
        on_rate_limit: RateLimitMode = "wait",
        max_lock_waits: int = 3,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 30.0,
        wait_lock: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            data_centre=data_centre,
            token=token,
            refresh_token=refresh_token,
            client_id=client_id,
            client_secret=client_secret,
            accounts_url=accounts_url,
            on_rate_limit=on_rate_limit,
            max_lock_waits=max_lock_waits,
            max_retries=max_retries,
            backoff=backoff,
            max_backoff=max_backoff,
        )
        self._wait_lock = wait_lock
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport, headers=_HEADERS
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> Any:
        """Any API call, with the client's auth, retries and errors; returns the parsed JSON.
        `json` is sent as the body."""
        method = method.upper()
        content, headers = _body(json)
        tries = _Tries()
        while True:
            token = await self._access_token()
            try:
                response = await self._http.request(
                    method, path, params=params, content=content, headers=headers | _auth(token)
                )
            except httpx.TransportError as exc:
                await asyncio.sleep(self._on_transport_error(method, exc, tries).seconds)
                continue
            step = self._decide(method, response, token, tries)
            if isinstance(step, _Done):
                return step.body
            if isinstance(step, _Reauth):
                self._tokens.invalidate(step.token)
            elif isinstance(step, _WaitLock):
                await self._wait_lock(step.seconds)
            else:
                await asyncio.sleep(step.seconds)

    async def learner_progress_page(self, learner_id: int, *, start_index: int = 0) -> ProgressPage:
        """One page of a learner's progress in all courses (P1)."""
        body = await self.request(
            "GET", _learner_path(learner_id), params={"startIndex": start_index}
        )
        return ProgressPage.from_json(body, start_index)

    async def iter_learner_progress_pages(
        self, learner_id: int, *, start_index: int = 0
    ) -> AsyncIterator[ProgressPage]:
        """Every page, advancing `startIndex` by the rows received until `hasMoreRecords` is
        false."""
        index: int | None = start_index
        while index is not None:
            page = await self.learner_progress_page(learner_id, start_index=index)
            yield page
            index = _next_index(page)

    async def iter_course_progress(self, learner_id: int) -> AsyncIterator[CourseProgress]:
        """Every course of the learner, over as many pages as it takes."""
        async for page in self.iter_learner_progress_pages(learner_id):
            for row in page.course_progress:
                yield row

    async def course_progress(
        self,
        course_id: int,
        learner_id: int,
        *,
        batch_id: int | None = None,
        progress_type: ProgressType = ProgressType.ALL,
    ) -> CourseProgress:
        """One learner's progress in one course, or one batch of it (P2)."""
        path, params = _course_call(course_id, learner_id, batch_id, progress_type)
        body = await self.request("GET", path, params=params)
        return _single_row(ProgressPage.from_json(body, 0))

    async def _access_token(self) -> str:
        token = self._tokens.current()
        if token is None:
            assert isinstance(self._tokens, RefreshingToken)
            token = await self._tokens.arefresh(self._http)
        return token


_HEADERS = {"User-Agent": f"lms-progress-client/{__version__}", "Accept": "application/json"}


def _body(json: Any) -> tuple[bytes | None, dict[str, str]]:
    if json is None:
        return None, {}
    return orjson.dumps(json), {"Content-Type": "application/json"}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Zoho-oauthtoken {token}"}


def _token_source(
    token: str | None,
    refresh_token: str | None,
    client_id: str | None,
    client_secret: str | None,
    accounts_url: str | None,
) -> TokenSource:
    if refresh_token is None:
        if token is None:
            raise ValueError("give token, or refresh_token with client_id and client_secret")
        return StaticToken(token)
    if not (client_id and client_secret):
        raise ValueError("a refresh token needs client_id and client_secret")
    if accounts_url is None:
        raise ValueError("a refresh token needs accounts_url (or a Zoho data_centre)")
    return RefreshingToken(
        refresh_token=refresh_token,
        client_id=client_id,
        client_secret=client_secret,
        token_url=_token_url(accounts_url),
        access_token=token,
    )


def _token_url(accounts_url: str) -> str:
    url = accounts_url.rstrip("/")
    return url if url.endswith("/oauth/v2/token") else url + "/oauth/v2/token"


def _id(value: int, name: str) -> str:
    # Ids go into the path: only integers, so nothing else can change the path.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return str(value)


def _learner_path(learner_id: int) -> str:
    return f"/api/v1/learners/{_id(learner_id, 'learner_id')}/course-progress"


def _course_call(
    course_id: int, learner_id: int, batch_id: int | None, progress_type: ProgressType
) -> tuple[str, dict[str, Any]]:
    path = f"/api/v1/courses/{_id(course_id, 'course_id')}"
    if batch_id is not None:
        path += f"/batches/{_id(batch_id, 'batch_id')}"
    path += f"/learners/{_id(learner_id, 'learner_id')}/course-progress"
    return path, {"progressType": int(progress_type), "startIndex": 0}


def _next_index(page: ProgressPage) -> int | None:
    if not page.has_more_records:
        return None
    if not page.course_progress:
        # Following it would ask for the same page forever.
        raise UnexpectedResponse(f"hasMoreRecords is true on an empty page at {page.start_index}")
    return page.start_index + len(page.course_progress)


def _single_row(page: ProgressPage) -> CourseProgress:
    if not page.course_progress:
        raise NotFound("No records found", code=7300, status_code=200, body=page.raw)
    return page.course_progress[0]


def _code(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _error_envelope(body: Any, status: int) -> tuple[int | None, str] | None:
    """(code, message) of an error body: ours and Zoho's `{"code", "message", "status":
    "failure"}`, or Zoho's older `{"response": {"errors": {...}, "status": 1}}`. A success status
    with such a body is an error too: Zoho sends some errors with 200."""
    if not isinstance(body, dict):
        return None
    inner = body.get("response")
    if isinstance(inner, dict) and "errors" in inner:
        errors = inner["errors"]
        first = errors[0] if isinstance(errors, list) and errors else errors
        if isinstance(first, dict):
            return _code(first.get("code")), str(first.get("message", "error"))
    if body.get("status") == "failure" or (status >= 400 and "code" in body):
        return _code(body.get("code")), str(body.get("message", "error"))
    return None


def _reason(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
