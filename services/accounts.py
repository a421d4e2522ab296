"""Accounts and sessions: sign up, log in, rotate refresh tokens, log out, edit the profile."""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import email_validator
from arq.connections import ArqRedis

from services import discover, email_verification, mail, totp
from services.auth import Viewer
from services.errors import AccountSuspendedError, DomainError, UserError, UserErrorCode
from services.login_throttle import LoginThrottle
from services.mail import MailConfig
from services.passwords import Passwords
from services.session_clients import SessionClient, approximate_network, session_client
from services.text import clean_text
from services.tokens import AccessTokens, InvalidTokenError, RefreshToken
from services.totp import TwoFactorConfig, TwoFactorRequired
from storage import jobs, redis_keys
from storage.micros import micros_of
from storage.pg import Db, transaction
from storage.pg import account_tokens as account_store
from storage.pg import leaving as leaving_store
from storage.pg import sessions as session_store
from storage.pg import suspensions as suspension_store
from storage.pg import two_factor as two_factor_store
from storage.pg import users as user_store
from storage.pg.users import UserRecord
from storage.pubsub import publish
from storage.revocations import mark_session_revoked

USERNAME_PATTERN = re.compile(r"[a-z0-9._]{1,30}")
PASSWORD_MIN_LENGTH = 8
# Argon2 cost does not grow with length, but there is no reason to accept a megabyte.
PASSWORD_MAX_LENGTH = 256
FULL_NAME_MAX_LENGTH = 64
BIO_MAX_LENGTH = 150
SESSION_ENDED_EVENT = "session_ended"
"""The event on a user's events channel when one of their sessions ends: `{"type":
"session_ended", "session_id": "<uuid>"}`. That session's websockets close on it
(web.session_watch)."""


@dataclass(frozen=True, slots=True)
class AccountDeps:
    """What the account use cases touch."""

    db: Db
    redis: ArqRedis
    """The session denylist, and the queue for search indexing."""
    passwords: Passwords
    access_tokens: AccessTokens
    refresh_token_ttl_seconds: int
    login_throttle: LoginThrottle
    """Failed log-ins per account name and per client address (see services.login_throttle)."""
    mail: MailConfig
    """Account email: sender, links, how long its tokens work (services.mail)."""
    two_factor: TwoFactorConfig
    """TOTP secrets' sealing key and the log-in challenge lifetime (services.totp)."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new or refreshed session: the user and the tokens to hand to the client."""

    user: UserRecord
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    reactivated: bool = False
    """This log-in ended the account's deactivation (services.leaving)."""
    deletion_cancelled: bool = False
    """This log-in cancelled the account's pending deletion (services.leaving)."""


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """Fields to change; None leaves a field as it is, an empty string clears it."""

    full_name: str | None = None
    bio: str | None = None
    is_private: bool | None = None
    """Make the account private (True) or public (False); None keeps it. Turning public
    approves the pending follow requests: services.privacy.update_profile does both."""


def normalize_username(raw: str) -> str:
    """Fold to the canonical form: surrounding spaces dropped, lower case."""
    return raw.strip().lower()


def _check_username(username: str) -> UserError | None:
    if USERNAME_PATTERN.fullmatch(username):
        return None
    return UserError(
        UserErrorCode.INVALID_INPUT,
        "Username must be 1 to 30 characters of letters, digits, '.' and '_'.",
        ("username",),
    )


def normalize_email(raw: str, field: str = "email") -> str | UserError:
    """The address in its stored form (lower case), or why it is refused."""
    try:
        checked = email_validator.validate_email(raw.strip(), check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        return UserError(UserErrorCode.INVALID_INPUT, f"Email is not valid: {error}", (field,))
    return checked.normalized.lower()


def check_password(password: str, field: str = "password") -> UserError | None:
    if PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        return None
    return UserError(
        UserErrorCode.INVALID_INPUT,
        f"Password must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters.",
        (field,),
    )


def _clean_text(value: str | None, *, field: str, max_length: int) -> str | UserError | None:
    """Cleaned text (services.text), None for blank or absent; a UserError when refused."""
    if value is None:
        return None
    return clean_text(value, field=(field,), max_length=max_length, multiline=field == "bio")


async def sign_up(
    deps: AccountDeps,
    *,
    username: str,
    email: str,
    password: str,
    full_name: str | None,
    client_ip: str | None,
    verified: bool = False,
    user_agent: str | None = None,
) -> SignedIn:
    """Create an account and its first session.

    `verified` (the demo seed's accounts, whose addresses receive no mail): the address is
    marked verified and no verification mail is sent.

    Raises DomainError (INVALID_INPUT, RATE_LIMITED, USERNAME_TAKEN, EMAIL_TAKEN) with no
    account written. Side effects: a well-formed attempt counts against the client address's
    sign-up window (services.login_throttle), then a user, a session and an email verification
    token are inserted in one transaction; after it commits the verification mail is queued.
    """
    username = normalize_username(username)
    normalized_email = normalize_email(email)
    cleaned_name = _clean_text(full_name, field="fullName", max_length=FULL_NAME_MAX_LENGTH)
    problems = [
        problem
        for problem in (
            _check_username(username),
            normalized_email,
            check_password(password),
            cleaned_name,
        )
        if isinstance(problem, UserError)
    ]
    if problems:
        raise DomainError(*problems)
    assert isinstance(normalized_email, str)
    assert not isinstance(cleaned_name, UserError)
    await deps.login_throttle.reserve_sign_up(client_ip)
    password_hash = await deps.passwords.hash(password)
    client = await session_client(client_ip, user_agent)
    async with transaction(deps.db) as conn:
        user = await user_store.insert_user(
            conn,
            username=username,
            email=normalized_email,
            password_hash=password_hash,
            full_name=cleaned_name,
        )
        if user is None:
            raise await _identifier_taken(conn, username, normalized_email)
        signed_in = await open_session(deps, conn, user, client)
        verification = None
        if verified:
            await account_store.mark_email_verified(conn, user.id, normalized_email)
        else:
            verification = await email_verification.verification_message(
                conn,
                deps.mail,
                user_id=user.id,
                username=user.username,
                email=normalized_email,
                change=False,
            )
    if verification is not None:
        await mail.queue_message(deps.redis, verification)
    await discover.on_profile_changed(deps.redis, user.id, user.created_at)
    return signed_in


async def _identifier_taken(db: Db, username: str, email: str) -> DomainError:
    username_taken, email_taken = await user_store.fetch_taken_identifiers(
        db, username=username, email=email
    )
    errors = []
    if username_taken:
        errors.append(
            UserError(UserErrorCode.USERNAME_TAKEN, "This username is taken.", ("username",))
        )
    if email_taken or not errors:
        errors.append(
            UserError(UserErrorCode.EMAIL_TAKEN, "An account with this email exists.", ("email",))
        )
    return DomainError(*errors)


async def log_in(
    deps: AccountDeps,
    *,
    username_or_email: str,
    password: str,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> SignedIn | TwoFactorRequired:
    """Open a new session for the account named by username or email; for an account with
    two-factor authentication on, hand out a challenge instead (services.two_factor completes
    it with a code), with no session opened.

    Throttled first (services.login_throttle): past the failures allowed for the client address
    or for the name, raises DomainError(RATE_LIMITED) before any lookup or password check.
    `client_ip` None (unknown) leaves only the per-name limit.
    Raises DomainError(INVALID_CREDENTIALS) without saying which part was wrong.
    Side effects: the attempt counted against the name (cleared on success) and, on failure,
    against the address (Redis); on success inserts a session, may upgrade the stored
    password hash, and reactivates a deactivated account (cancelling a pending deletion:
    `SignedIn.deletion_cancelled`; after commit, the repair of its followers' feeds is queued:
    after_sign_in); for two-factor accounts, the challenge stored (Redis)
    instead, the session and the reactivation waiting for the code. An account whose deletion
    took effect cannot log in.
    """
    identifier = username_or_email.strip().lower()
    throttle = deps.login_throttle
    await throttle.ensure_address_allowed(client_ip)
    await throttle.reserve_attempt(identifier)
    credentials = None
    if 0 < len(identifier) <= 254 and len(password) <= PASSWORD_MAX_LENGTH:
        credentials = await user_store.fetch_credentials(
            deps.db, username=identifier, email=identifier
        )
    stored_hash = credentials.password_hash if credentials else None
    if not await deps.passwords.verify(stored_hash, password) or credentials is None:
        await throttle.count_failure(client_ip)
        raise _wrong_credentials()
    client = await session_client(client_ip, user_agent)
    async with transaction(deps.db) as conn:
        if deps.passwords.needs_rehash(credentials.password_hash):
            new_hash = await deps.passwords.hash(password)
            await user_store.update_password_hash(conn, credentials.user_id, new_hash)
        (user,) = await user_store.fetch_users_by_ids(conn, [credentials.user_id])
        outcome: SignedIn | TwoFactorRequired
        if await two_factor_store.is_two_factor_on(conn, user.id):
            # The second step (services.two_factor.complete_log_in) signs the owner in.
            if await leaving_store.deletion_took_effect(conn, user.id):
                raise _wrong_credentials()
            outcome = await totp.issue_challenge(deps.redis, deps.two_factor, user.id)
        else:
            outcome = await sign_in_owner(deps, conn, user, client)
    await throttle.forgive_name(identifier)
    if isinstance(outcome, SignedIn):
        await after_sign_in(deps, outcome)
    return outcome


async def sign_in_owner(
    deps: AccountDeps, db: Db, user: UserRecord, client: SessionClient
) -> SignedIn:
    """A new session for the account's proven owner (password, and code when two-factor is
    on). A suspended or banned account is refused: ACCOUNT_SUSPENDED with the end date, the
    suspension kept (services.suspensions). Logging in reactivates a deactivated account and
    cancels a pending deletion; once the deletion took effect the account is being erased:
    INVALID_CREDENTIALS, nothing changed (services.leaving). Side effects (in the caller's
    transaction): the user's row locked and updated, one session INSERT."""
    suspension = await suspension_store.fetch_active_for_update(db, user.id)
    if suspension is not None:
        raise AccountSuspendedError(suspension.until)
    reactivation = await leaving_store.reactivate(db, user.id)
    if reactivation is None:
        raise _wrong_credentials()
    signed_in = await open_session(deps, db, user, client)
    return dataclasses.replace(
        signed_in,
        reactivated=reactivation.was_deactivated,
        deletion_cancelled=reactivation.deletion_cancelled,
    )


async def after_sign_in(deps: AccountDeps, signed_in: SignedIn) -> None:
    """What a committed sign-in still owes: when it ended a deactivation, the account's
    recent posts go back into its followers' cached feeds (a feed rebuilt while the account
    was hidden was built without them). Side effect: a fan_out_author job queued (Redis)."""
    if signed_in.reactivated:
        await jobs.enqueue_fan_out_author(
            deps.redis, signed_in.user.id, micros_of(datetime.now(UTC))
        )


def _wrong_credentials() -> DomainError:
    return DomainError.single(
        UserErrorCode.INVALID_CREDENTIALS, "Wrong username, email or password."
    )


async def open_session(
    deps: AccountDeps, db: Db, user: UserRecord, client: SessionClient
) -> SignedIn:
    """A new session of the user, recording the client's device and approximate address
    (services.session_clients). Side effect: one INSERT (in the caller's transaction)."""
    session_id = uuid.uuid4()
    refresh_token = RefreshToken.new(session_id)
    await session_store.insert_session(
        db,
        session_id=session_id,
        user_id=user.id,
        token_hash=refresh_token.secret_hash,
        expires_at=_refresh_expiry(deps),
        device=client.device,
        approximate_address=client.approximate_address,
    )
    return _signed_in(deps, user, refresh_token)


def _signed_in(deps: AccountDeps, user: UserRecord, refresh_token: RefreshToken) -> SignedIn:
    access_token, expires_at = deps.access_tokens.issue(user.id, refresh_token.session_id)
    return SignedIn(
        user=user,
        access_token=access_token,
        access_token_expires_at=expires_at,
        refresh_token=str(refresh_token),
    )


def _refresh_expiry(deps: AccountDeps) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=deps.refresh_token_ttl_seconds)


_INVALID_REFRESH = DomainError.single(
    UserErrorCode.INVALID_CREDENTIALS, "This refresh token is not valid; log in again."
)


async def refresh_session(
    deps: AccountDeps, token: str, *, client_ip: str | None = None
) -> SignedIn:
    """Exchange a refresh token for new tokens (the old refresh token stops working). The
    session counts as used now, from `client_ip`'s network (its `lastUsedAt`, its address).

    Presenting a refresh token that was already rotated away means it leaked or was replayed:
    the whole session is revoked, and both the thief and the owner must log in again. Any other
    wrong secret is only refused (a session id alone cannot end someone's session).
    Raises DomainError(INVALID_CREDENTIALS). Side effects: rotates the session (the old secret
    kept as retired), or revokes it on a replay as `log_out` does (denylist, websockets).
    """
    try:
        presented = RefreshToken.parse(token)
    except InvalidTokenError:
        raise _INVALID_REFRESH from None
    rotated = RefreshToken.new(presented.session_id)
    async with transaction(deps.db) as conn:
        session = await session_store.fetch_session_for_update(conn, presented.session_id)
        if session is None or session.revoked_at is not None:
            raise _INVALID_REFRESH
        if session.expires_at <= datetime.now(UTC):
            raise _INVALID_REFRESH
        users: list[UserRecord] | None
        if session.refresh_token_hash == presented.secret_hash:
            await session_store.rotate_session_token(
                conn,
                session.id,
                token_hash=rotated.secret_hash,
                expires_at=_refresh_expiry(deps),
                approximate_address=approximate_network(client_ip),
            )
            users = await user_store.fetch_users_by_ids(conn, [session.user_id])
        elif await session_store.is_retired_token(conn, session.id, presented.secret_hash):
            await session_store.revoke_session(conn, session.id, reason="refresh token reused")
            users = None  # a replay: the revocation commits with this block
        else:
            raise _INVALID_REFRESH  # a guess: nothing changes
    if users is None:
        await _end_session(deps, session.user_id, presented.session_id)
        raise _INVALID_REFRESH
    if not users:  # the account is gone
        raise _INVALID_REFRESH
    return _signed_in(deps, users[0], rotated)


async def log_out(deps: AccountDeps, viewer: Viewer) -> None:
    """End the viewer's session: its refresh token and its access tokens stop working.

    Side effects: marks the session revoked in PostgreSQL, then as `_end_session`.
    """
    await session_store.revoke_session(deps.db, viewer.session_id, reason="logged out")
    await _end_session(deps, viewer.user_id, viewer.session_id)


async def end_sessions(deps: AccountDeps, user_id: int, session_ids: list[uuid.UUID]) -> None:
    """After these sessions' revocation committed: as `_end_session` for each."""
    for session_id in session_ids:
        await _end_session(deps, user_id, session_id)


async def _end_session(deps: AccountDeps, user_id: int, session_id: uuid.UUID) -> None:
    """After the session's revocation committed: its access tokens stop working at once.
    Side effects: the Redis denylist entry, then SESSION_ENDED_EVENT on the user's events
    channel (best effort, as every announcement: the denylist is the truth)."""
    await mark_session_revoked(deps.redis, session_id, ttl_seconds=deps.access_tokens.ttl_seconds)
    await publish(
        deps.redis,
        redis_keys.user_events_channel(user_id),
        {"type": SESSION_ENDED_EVENT, "session_id": str(session_id)},
    )


async def update_profile(deps: AccountDeps, viewer: Viewer, changes: ProfileChanges) -> UserRecord:
    """Change the viewer's full name, bio and/or privacy. Raises DomainError(INVALID_INPUT,
    NOT_FOUND).

    Side effects: one UPDATE; re-indexing the user for search is queued."""
    full_name = _clean_text(changes.full_name, field="fullName", max_length=FULL_NAME_MAX_LENGTH)
    bio = _clean_text(changes.bio, field="bio", max_length=BIO_MAX_LENGTH)
    problems = [problem for problem in (full_name, bio) if isinstance(problem, UserError)]
    if problems:
        raise DomainError(*problems)
    assert not isinstance(full_name, UserError)
    assert not isinstance(bio, UserError)
    user = await user_store.update_profile(
        deps.db,
        viewer.user_id,
        set_full_name=changes.full_name is not None,
        full_name=full_name,
        set_bio=changes.bio is not None,
        bio=bio,
        is_private=changes.is_private,
    )
    if user is None:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "This account no longer exists.")
    await discover.on_profile_changed(deps.redis, user.id, datetime.now(UTC))
    return user


async def fetch_user_by_username(db: Db, username: str) -> UserRecord | None:
    """The user with this username (any case), or None."""
    candidate = normalize_username(username)
    if not USERNAME_PATTERN.fullmatch(candidate):
        return None
    return await user_store.fetch_user_by_username(db, candidate)


async def purge_ended_sessions(db: Db, *, retention: timedelta) -> int:
    """Delete sessions that ended (expired or revoked) over `retention` ago; returns how many."""
    return await session_store.delete_ended_sessions(db, ended_before=datetime.now(UTC) - retention)
