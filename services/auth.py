"""Who is asking: turns an `Authorization` header (or a websocket `connection_init` payload value)
into the signed-in viewer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

from services.tokens import AccessTokens, InvalidTokenError
from storage.revocations import is_session_revoked


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of a request, and the session its access token belongs to."""

    user_id: int
    session_id: uuid.UUID


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Bearer <token>`; None when the header is absent or empty."""
    if not authorization or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError("the Authorization header must be `Bearer <access token>`")
    return token.strip()


SESSION_ENDED = "the session of this access token has ended"


async def authenticate(
    access_tokens: AccessTokens, redis: Redis, authorization: str | None
) -> Viewer | None:
    """The viewer of a valid token, None without a token; raises InvalidTokenError for a bad,
    expired or revoked one. Side effects: one Redis read (the revocation denylist)."""
    viewer = claimed_viewer(access_tokens, authorization)
    if viewer is not None:
        await check_session(redis, viewer)
    return viewer


async def check_session(redis: Redis, viewer: Viewer) -> None:
    """Raise InvalidTokenError when the viewer's session has ended (it is in the revocation
    denylist). Side effects: one Redis read."""
    if await is_session_revoked(redis, viewer.session_id):
        raise InvalidTokenError(SESSION_ENDED)


def claimed_viewer(access_tokens: AccessTokens, authorization: str | None) -> Viewer | None:
    """The viewer a token claims, its signature and expiry checked but not yet its session
    (the caller checks that against the revocation denylist before trusting it, as
    `authenticate` does); None without a token; raises InvalidTokenError for a bad or expired
    one. No I/O."""
    token = bearer_token(authorization)
    if token is None:
        return None
    claims = access_tokens.verify(token)
    return Viewer(user_id=claims.user_id, session_id=claims.session_id)
