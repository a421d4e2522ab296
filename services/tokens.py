"""Access tokens (short-lived HS256 JWTs, PyJWT) and refresh tokens (opaque, rotating).

A refresh token is `<session uuid>.<random secret>`; the database keeps only the SHA-256 of the
current secret, so a leaked database does not leak usable tokens.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 (a claim value, not a secret)
ISSUER = "shutter"
VERIFIED_TOKENS_CACHED = 4096
"""Access tokens whose verified claims a process keeps (about 1 KiB each)."""


class InvalidTokenError(Exception):
    """The token is malformed, tampered with, expired or of the wrong kind."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RefreshToken:
    session_id: uuid.UUID
    secret: str

    def __str__(self) -> str:
        return f"{self.session_id}.{self.secret}"

    @property
    def secret_hash(self) -> bytes:
        return hashlib.sha256(self.secret.encode()).digest()

    @classmethod
    def new(cls, session_id: uuid.UUID) -> RefreshToken:
        return cls(session_id=session_id, secret=secrets.token_urlsafe(32))

    @classmethod
    def parse(cls, token: str) -> RefreshToken:
        session_part, _, secret = token.partition(".")
        try:
            session_id = uuid.UUID(session_part)
        except ValueError as error:
            raise InvalidTokenError("malformed refresh token") from error
        if not secret or len(secret) > 128:
            raise InvalidTokenError("malformed refresh token")
        return cls(session_id=session_id, secret=secret)


class AccessTokens:
    """Issues and verifies access tokens signed with the service's secret key."""

    def __init__(self, secret_key: str, *, ttl_seconds: int) -> None:
        self._key = secret_key
        self.ttl_seconds = ttl_seconds
        # A client sends the same token with every request for up to 15 minutes: checking its
        # signature and claims once is enough (verify still checks its expiry every time).
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS_CACHED)(self._decode)

    def issue(
        self, user_id: int, session_id: uuid.UUID, *, now: datetime | None = None
    ) -> tuple[str, datetime]:
        """A signed token for the user's session, and when it expires."""
        issued_at = now or datetime.now(UTC)
        expires_at = issued_at + timedelta(seconds=self.ttl_seconds)
        claims = {
            "iss": ISSUER,
            "sub": str(user_id),
            "sid": str(session_id),
            "typ": ACCESS_TOKEN_TYPE,
            "iat": issued_at,
            "exp": expires_at,
        }
        return jwt.encode(claims, self._key, algorithm="HS256"), expires_at.replace(microsecond=0)

    def verify(self, token: str, *, now: datetime | None = None) -> AccessClaims:
        """The claims of a valid token; raises InvalidTokenError with the reason otherwise.

        Side effects: none, but a valid token's decoded claims are kept (at most
        VERIFIED_TOKENS_CACHED tokens), so its signature is checked once per process.
        """
        claims = self._verified(token)
        if claims.expires_at <= (now or datetime.now(UTC)):
            raise InvalidTokenError("access token expired")
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "sid", "iss"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidTokenError("access token expired") from error
        except jwt.InvalidTokenError as error:
            raise InvalidTokenError("invalid access token") from error
        if claims.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidTokenError("invalid access token")
        try:
            return AccessClaims(
                user_id=int(claims["sub"]),
                session_id=uuid.UUID(claims["sid"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except (ValueError, TypeError) as error:
            raise InvalidTokenError("invalid access token") from error
