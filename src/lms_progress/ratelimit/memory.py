"""In-process backend: exact for one server process (several processes need Redis)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from lms_progress.ratelimit.base import Decision
from lms_progress.ratelimit.policy import KeyState, Limits, decide, is_idle

_SWEEP_EVERY = 10_000  # calls between sweeps of idle keys, so memory follows active callers


class MemoryRateLimiter:
    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._states: dict[str, KeyState] = {}
        # The event loop runs one call at a time, but sync code may call from threads.
        self._lock = threading.Lock()
        self._calls = 0

    async def hit(self, key: str) -> Decision:
        return self.hit_sync(key)

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def hit_sync(self, key: str) -> Decision:
        with self._lock:
            now = self._clock()
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = KeyState()
            decision = decide(state, now, self.limits)
            self._calls += 1
            if self._calls >= _SWEEP_EVERY:
                self._sweep(now)
            return decision

    def _sweep(self, now: float) -> None:
        self._calls = 0
        idle = [k for k, s in self._states.items() if is_idle(s, now, self.limits)]
        for key in idle:
            del self._states[key]
