"""Tokens look like Zoho's (1000.<hex>.<hex>) and are stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, bindparam, select, update

from lms_progress.errors import ApiError, ErrorCode
from lms_progress.ids import new_id
from lms_progress.store.reader import Reader
from lms_progress.store.schema import api_tokens, api_users

SCOPE_PREFIX = "ZOHOPEOPLE.training."
_SCHEMES = frozenset({"zoho-oauthtoken", "bearer"})


class Operation(StrEnum):
    READ = "READ"
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    ALL = "ALL"

    @classmethod
    def parse(cls, text: str) -> Operation:
        """READ, or Zoho's full name ZOHOPEOPLE.training.READ (any case)."""
        name = text.strip()
        if name.upper().startswith(SCOPE_PREFIX.upper()):
            name = name[len(SCOPE_PREFIX) :]
        try:
            return cls(name.upper())
        except ValueError:
            raise ValueError(
                f"unknown scope {text!r}; use READ, CREATE, UPDATE, DELETE or ALL"
            ) from None


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    operations: frozenset[Operation]

    def allows(self, operation: Operation) -> bool:
        return operation in self.operations or Operation.ALL in self.operations


def generate_token() -> str:
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_from_header(header: str | None) -> str:
    """The token in an Authorization header: `Zoho-oauthtoken <t>` or `Bearer <t>`, any case."""
    if not header:
        raise ApiError(ErrorCode.TOKEN_MISSING)
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in _SCHEMES or not token:
        raise ApiError(
            ErrorCode.TOKEN_INVALID,
            "Authorization must be 'Zoho-oauthtoken <token>' or 'Bearer <token>'",
        )
    return token


class TokenAuthenticator:
    """Resolves a request's token to its principal: one indexed lookup by hash.

    With `cache_seconds` > 0 a valid token's principal is remembered for that long, so that a
    client's run of calls costs one lookup, not one per call: a revocation made elsewhere (another
    process, the CLI) then takes effect within that time. Unknown or refused tokens are never
    cached, and a cached token still expires on time.
    """

    # Enough for every client of a busy deployment (a few MB); past it the stale go first.
    _MAX_CACHED = 50_000

    def __init__(self, reader: Reader, cache_seconds: float = 0) -> None:
        self._reader = reader
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Principal, float, int | None]] = {}
        self._lookup = reader.prepare(
            select(
                api_tokens.c.user_id,
                api_tokens.c.scopes,
                api_tokens.c.expires_at,
                api_tokens.c.revoked_at,
            ).where(api_tokens.c.token_hash == bindparam("token_hash"))
        )

    def authenticate(self, header: str | None, now: float) -> Principal:
        token = token_from_header(header)
        cached = self._cache.get(token)
        if cached is not None:
            principal, fresh_until, expires_at = cached
            if now < fresh_until and (expires_at is None or now < expires_at):
                return principal
            del self._cache[token]
        rows = self._reader.fetch(self._lookup, token_hash=hash_token(token))
        if not rows:
            raise ApiError(ErrorCode.TOKEN_INVALID)
        user_id, scopes, expires_at, revoked_at = rows[0]
        if revoked_at is not None or (expires_at is not None and expires_at <= now):
            raise ApiError(ErrorCode.TOKEN_INVALID, "The OAuth token has expired or was revoked")
        principal = Principal(
            user_id=user_id, operations=frozenset(Operation(op) for op in scopes.split())
        )
        if self._cache_seconds > 0:
            if len(self._cache) >= self._MAX_CACHED:
                self._evict(now)
            self._cache[token] = (principal, now + self._cache_seconds, expires_at)
        return principal

    def _evict(self, now: float) -> None:
        stale = [token for token, (_, fresh_until, _) in self._cache.items() if fresh_until <= now]
        for token in stale:
            del self._cache[token]
        if len(self._cache) >= self._MAX_CACHED:
            self._cache.clear()

    def forget(self, token: str) -> None:
        """Drop a token from this process's cache (after revoking it here)."""
        self._cache.pop(token, None)


def ensure_user(connection: Connection, user_id: int | None, name: str, now: int) -> int:
    """The API user with that id, created when missing; a new id when None."""
    if user_id is not None:
        found = connection.execute(select(api_users.c.id).where(api_users.c.id == user_id)).first()
        if found is not None:
            return user_id
    new = user_id if user_id is not None else new_id()
    connection.execute(api_users.insert().values(id=new, name=name, created_at=now))
    return new


def create_token(
    connection: Connection,
    *,
    user_id: int,
    operations: set[Operation],
    now: int,
    expires_at: int | None = None,
) -> str:
    """Store a new token's hash and return the token itself: the only time it is seen."""
    if not operations:
        raise ValueError("a token needs at least one scope")
    token = generate_token()
    connection.execute(
        api_tokens.insert().values(
            id=new_id(),
            user_id=user_id,
            token_hash=hash_token(token),
            scopes=" ".join(sorted(op.value for op in operations)),
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token


def revoke_token(connection: Connection, token: str, now: int) -> bool:
    """Revoke a token; False when no such token exists or it was revoked already."""
    result = connection.execute(
        update(api_tokens)
        .where(api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount > 0
