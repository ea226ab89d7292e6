"""What the app holds for its lifetime: built once at start-up, read by every request."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo

from sqlalchemy import Engine

from lms_progress.auth.tokens import TokenAuthenticator
from lms_progress.progress.repository import ProgressRepository
from lms_progress.ratelimit.base import RateLimiter
from lms_progress.settings import Settings
from lms_progress.store.reader import Reader


@dataclass(slots=True)
class AppContext:
    settings: Settings
    engine: Engine
    reader: Reader
    zone: tzinfo
    limiter: RateLimiter
    authenticator: TokenAuthenticator
    progress: ProgressRepository
    # Wall clock for token expiry and recorded instants; the rate limiter has its own clock.
    wall_clock: Callable[[], float] = field(default=time.time)
