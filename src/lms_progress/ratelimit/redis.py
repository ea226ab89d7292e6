"""Redis backend: the rule of policy.py, shared by every process and host that uses the server.

Each call is one Lua script, run atomically by Redis, with Redis's own clock (`TIME`; Redis 7
replicates a script's effects, not the script, so reading the clock is allowed). Per user and API
there are two keys: a sorted set of the accepted calls in the window (score: microseconds) and,
while locked, the instant the lock ends. Both expire, so Redis holds state only for keys that are
active or locked. Instants are integer microseconds: exact, and below 2^53 for Lua's doubles.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, RedisError

from lms_progress.errors import ApiError, ErrorCode
from lms_progress.ratelimit.base import ALLOWED, Decision
from lms_progress.ratelimit.policy import Limits

log = logging.getLogger(__name__)

MICROS = 1_000_000

# KEYS: accepted-call log, lock. ARGV: threshold, window (us), lock (us), a unique member for
# this call, and optionally "now" (us) to replay a given clock (tests) instead of TIME.
# Mirrors policy.decide: the log is cleared when a lock starts rather than when it ends (nothing
# reads or adds to it in between, so the decisions are the same, and the lock key may expire).
SCRIPT = """
local now
if ARGV[5] then
  now = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local threshold = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local lock = tonumber(ARGV[3])
local function us(x) return string.format('%.0f', x) end

local locked_until = tonumber(redis.call('GET', KEYS[2]) or '0')
if locked_until > 0 then
  if now < locked_until then
    return {0, us(locked_until - now)}
  end
  redis.call('DEL', KEYS[2])
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', us(now - window))
if redis.call('ZCARD', KEYS[1]) < threshold then
  redis.call('ZADD', KEYS[1], us(now), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], us(math.ceil(window / 1000) + 1))
  return {1, '0'}
end
if lock <= 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, us(tonumber(oldest[2]) + window - now)}
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], us(now + lock), 'PX', us(math.ceil(lock / 1000) + 1))
return {0, us(lock)}
"""


def retry_after_micros(wait: int) -> int:
    """Whole seconds, rounded up, at least 1 (policy.retry_after, in integer arithmetic)."""
    return max(1, -(-wait // MICROS))


def connect(url: str, *, timeout: float) -> Redis:
    """A client whose calls fail within `timeout` seconds when Redis is unreachable.

    One retry, on connection errors only: it replaces a pooled connection that a Redis restart
    closed. Timeouts are not retried: the script may have run, and counting a call twice is wrong.
    """
    client: Redis = Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1, (ConnectionError,)),
    )
    return client


class RedisRateLimiter:
    def __init__(self, client: Redis, limits: Limits, prefix: str = "lms-progress:") -> None:
        self.limits = limits
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(SCRIPT)
        self._limit_args = (
            limits.threshold,
            round(limits.window * MICROS),
            round(limits.lock * MICROS),
        )

    async def hit(self, key: str) -> Decision:
        return await self._run(key)

    async def hit_at(self, key: str, now_micros: int) -> Decision:
        """Decide as if Redis's clock read `now_micros` (to compare with the pure policy)."""
        return await self._run(key, now_micros)

    async def _run(self, key: str, *now: int) -> Decision:
        # The braces put both keys in one hash slot, as a Redis Cluster needs for one script.
        base = f"{self._prefix}rl:{{{key}}}"
        args: list[Any] = [*self._limit_args, secrets.token_hex(8), *now]
        try:
            allowed, wait = await self._script(keys=[f"{base}:log", f"{base}:lock"], args=args)
        except RedisError as exc:
            log.warning("rate limit store unavailable: %s: %s", type(exc).__name__, exc)
            raise ApiError(ErrorCode.UNAVAILABLE, "The rate-limit store is unreachable") from None
        if allowed:
            return ALLOWED
        return Decision(False, retry_after_micros(int(wait)))

    async def ping(self) -> None:
        try:
            await self._client.ping()
        except RedisError as exc:
            log.warning("rate limit store unavailable: %s: %s", type(exc).__name__, exc)
            raise ApiError(ErrorCode.UNAVAILABLE, "The rate-limit store is unreachable") from None

    async def aclose(self) -> None:
        await self._client.aclose()
