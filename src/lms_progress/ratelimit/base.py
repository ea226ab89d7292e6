"""The one interface every rate-limit backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # whole seconds, rounded up; 0 when allowed


ALLOWED = Decision(True)


class RateLimiter(Protocol):
    async def hit(self, key: str) -> Decision:
        """Count one call for `key` (user and API) if the limit allows it."""
        ...

    async def ping(self) -> None:
        """Return when the limiter's state is reachable; raise ApiError (503) otherwise."""
        ...

    async def aclose(self) -> None:
        """Release connections (the app's shutdown)."""
        ...
