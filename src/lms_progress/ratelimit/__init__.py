"""Rate limiting per user and API: the rule (policy.py) and where its state lives (backends)."""

from lms_progress.ratelimit.base import Decision, RateLimiter
from lms_progress.ratelimit.policy import Limits

__all__ = ["Decision", "Limits", "RateLimiter"]
