"""The viewer's sessions: listed with their device and approximate address, ended one by one
or all but the current one. Ending uses the log-out path (services.accounts): the session is
revoked in PostgreSQL, its access tokens are denied at once (Redis denylist), its refresh token
stops working, and its websockets close (web.session_watch)."""

from __future__ import annotations

import uuid

from services import accounts
from services.accounts import AccountDeps
from services.auth import Viewer
from services.errors import DomainError, UserErrorCode
from storage.pg import Db, transaction
from storage.pg import sessions as session_store
from storage.pg.sessions import SessionListing

SESSIONS_LISTED = 50
"""At most this many sessions are listed, the most recently used first; older live sessions
still end with endOtherSessions."""


async def list_sessions(db: Db, viewer: Viewer) -> list[SessionListing]:
    """The viewer's live sessions (neither ended nor expired), most recently used first. For
    the viewer's eyes only: the caller checks the user asked about is the viewer. One query."""
    return await session_store.fetch_live_sessions(db, viewer.user_id, limit=SESSIONS_LISTED)


def _no_such_session() -> DomainError:
    return DomainError.single(UserErrorCode.NOT_FOUND, "No such session.", "sessionId")


async def end_session(deps: AccountDeps, viewer: Viewer, session_id: str) -> uuid.UUID:
    """End one of the viewer's live sessions (the current one too: that is logging out).

    Raises DomainError NOT_FOUND for an id that is not one of the viewer's live sessions
    (another user's, ended, unknown, malformed), nothing changed. Side effects: as
    accounts.log_out for that session."""
    try:
        target = uuid.UUID(session_id)
    except ValueError:
        raise _no_such_session() from None
    if not await session_store.revoke_user_session(
        deps.db, viewer.user_id, target, reason="ended by owner"
    ):
        raise _no_such_session()
    await accounts.end_sessions(deps, viewer.user_id, [target])
    return target


async def end_other_sessions(deps: AccountDeps, viewer: Viewer) -> int:
    """End every live session of the viewer but the current one; returns how many ended.
    Side effects: as accounts.log_out for each."""
    async with transaction(deps.db) as conn:
        ended = await session_store.revoke_user_sessions(
            conn, viewer.user_id, reason="ended by owner", keep=viewer.session_id
        )
    await accounts.end_sessions(deps, viewer.user_id, ended)
    return len(ended)
