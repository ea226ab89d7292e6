"""In-process backend: exact for one server process (several processes need Redis)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from lms_progress.ratelimit.base import Decision
from lms_progress.ratelimit.policy import KeyState, Limits, decide, is_idle

_SWEEP_EVERY = 10_000  # calls between passes over the keys, so memory follows active callers


class MemoryRateLimiter:
    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._states: dict[str, KeyState] = {}
        # The event loop runs one call at a time, but sync code may call from threads.
        self._lock = threading.Lock()
        self._calls = 0
        self._unchecked: list[str] = []  # keys the current pass has still to look at
        self._per_call = 0

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
            self._sweep_some(now)
            return decision

    def _sweep_some(self, now: float) -> None:
        """Forget idle keys, a few per call. Every _SWEEP_EVERY calls a pass over all the keys
        starts, and each call looks at its share, so that the pass ends before the next one: no
        call pays for the whole table (with 60,000 callers a full pass held the event loop for
        30 ms, which was the seed endpoint's p99)."""
        self._calls += 1
        if self._calls >= _SWEEP_EVERY:
            self._calls = 0
            self._unchecked = list(self._states)
            self._per_call = len(self._unchecked) // _SWEEP_EVERY + 1
        unchecked = self._unchecked
        if unchecked:
            states = self._states
            for _ in range(min(self._per_call, len(unchecked))):
                key = unchecked.pop()
                state = states.get(key)
                if state is not None and is_idle(state, now, self.limits):
                    del states[key]
