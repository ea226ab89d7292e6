"""Settings, read from `LMS_PROGRESS_*` environment variables (or passed in by tests)."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///lms-progress.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LMS_PROGRESS_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # When unset, the organisation's time zone stored in the database applies (default UTC).
    timezone: str | None = None
    page_size: int = Field(default=25, ge=1, le=1000)
    rate_limit_threshold: int = Field(default=30, ge=1)
    rate_limit_window_seconds: float = Field(default=60, gt=0)
    rate_limit_lock_seconds: float = Field(default=300, ge=0)
    # Set: the rate limit lives in Redis, shared by every process and host (e.g. redis://h:6379/0).
    redis_url: str | None = None
    redis_key_prefix: str = "lms-progress:"
    # How long a call to Redis may take before the request gets 503 (7503).
    redis_timeout_seconds: float = Field(default=2.0, gt=0)
    access_log: bool = False
    # How long a valid token is remembered; a revocation elsewhere takes effect within it.
    token_cache_seconds: float = Field(default=5, ge=0, le=3600)
    # The largest body `POST /api/v1/import/{kind}` accepts (413 beyond).
    import_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    # Serve the progress reads through the ASGI fast path (progress/fastpath.py).
    fast_path: bool = True

    @field_validator("database_url")
    @classmethod
    def _usable_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"not a database URL: {value!r}") from None
        # The stores the service is built and tested for, with the drivers it installs.
        if url.get_backend_name() == "sqlite" and url.get_driver_name() == "pysqlite":
            if url.database in (None, "", ":memory:"):
                # Each connection would see a store of its own, gone when it closes.
                raise ValueError("an in-memory SQLite store keeps nothing: give a file")
            return value
        if url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg":
            return value
        raise ValueError(
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DATABASE, "
            f"not {url.drivername}://"
        )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value == "":
            return None  # set but empty: as if unset
        return None if value is None else known_zone(value)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def known_zone(name: str) -> str:
    """`name` when it is an IANA time zone this machine knows; ValueError otherwise."""
    if name not in _zones():
        raise ValueError(f"unknown time zone {name!r}")
    return name


@cache
def _zones() -> frozenset[str]:
    """The IANA zones tzdata names (read once, when a zone is first checked: about 30 ms).
    "localtime" (each host's own clock), "Factory" and the "right/" (leap-second) variants are
    files ZoneInfo would open, but no organisation's zone."""
    return frozenset(available_timezones() - {"Factory", "localtime", "posixrules"})
