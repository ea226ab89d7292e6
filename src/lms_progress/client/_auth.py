"""Access tokens: a fixed one, or one refreshed from a refresh token at a Zoho accounts server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from lms_progress.client._errors import TokenRefreshFailed, TransportError
from lms_progress.client._json import loads

TOKEN_PATH = "/oauth/v2/token"
# Zoho's access tokens live an hour; a refresh answer without expires_in is taken to mean that.
DEFAULT_EXPIRES_IN = 3600.0
REFRESH_MARGIN = 60.0


class StaticToken:
    """An access token used as it is; a 401 is final."""

    refreshable = False

    def __init__(self, token: str) -> None:
        if not token.strip():
            raise ValueError("the access token is empty")
        self._token = token.strip()

    def current(self) -> str:
        return self._token

    def invalidate(self, token: str) -> None:
        pass


class RefreshingToken:
    """An access token obtained with `grant_type=refresh_token`, renewed shortly before it
    expires and once after a 401. Safe to share between threads; `arefresh` between tasks."""

    refreshable = True

    def __init__(
        self,
        *,
        refresh_token: str,
        client_id: str,
        client_secret: str,
        token_url: str,
        access_token: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self._form = {
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "refresh_token",
        }
        self._clock = clock
        self._token = access_token
        # A token handed in without its lifetime is used until the server says 401.
        self._renew_at = float("inf")
        self._lock = threading.Lock()
        self._alock: asyncio.Lock | None = None

    def current(self) -> str | None:
        """The access token while it is fresh, else None (a refresh is due)."""
        if self._token is not None and self._clock() < self._renew_at:
            return self._token
        return None

    def invalidate(self, token: str) -> None:
        # Only the token that failed: another thread may have renewed it already.
        if self._token == token:
            self._token = None

    def refresh(self, http: httpx.Client) -> str:
        with self._lock:
            token = self.current()
            if token is not None:
                return token
            try:
                response = http.post(self.token_url, data=self._form)
            except httpx.TransportError as exc:
                raise TransportError(f"token endpoint {self.token_url}: {exc!r}") from exc
            return self._accept(response)

    async def arefresh(self, http: httpx.AsyncClient) -> str:
        if self._alock is None:
            self._alock = asyncio.Lock()
        async with self._alock:
            token = self.current()
            if token is not None:
                return token
            try:
                response = await http.post(self.token_url, data=self._form)
            except httpx.TransportError as exc:
                raise TransportError(f"token endpoint {self.token_url}: {exc!r}") from exc
            return self._accept(response)

    def _accept(self, response: httpx.Response) -> str:
        body: Any = loads(response.content)
        if not isinstance(body, dict):
            body = {}
        token = body.get("access_token")
        # Zoho answers a refused grant with {"error": "..."}, sometimes with status 200.
        if response.status_code != 200 or not isinstance(token, str) or not token:
            reason = body.get("error") or f"HTTP {response.status_code}"
            raise TokenRefreshFailed(
                f"token refresh refused: {reason}", status_code=response.status_code, body=body
            )
        expires_in = body.get("expires_in", DEFAULT_EXPIRES_IN)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            expires_in = DEFAULT_EXPIRES_IN
        self._token = token
        # Renew a minute early (or halfway, for short-lived tokens) so no call races the expiry.
        self._renew_at = self._clock() + expires_in - min(REFRESH_MARGIN, expires_in / 2)
        return token


TokenSource = StaticToken | RefreshingToken
