"""Email verification and account recovery: confirming an address (at sign-up or for an email
change), resetting a forgotten password, changing the password or the address.

Tokens are single-use and expiring (services.account_tokens); messages are queued jobs
(services.mail). What each use case ends:

- a password reset ends EVERY session of the account (whoever knew the old password is out);
- a password change ends every session but the caller's;
- an email change switches the address only when the new one confirms, then tells the old one.

A reset request answers the same whether or not the address has an account, in the same time:
it only counts the request against its limits and queues a job, which looks the address up
(`start_password_reset`) and sends a message only when there is an account.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from services import account_tokens, accounts, email_verification, mail
from services.accounts import AccountDeps
from services.auth import Viewer
from services.errors import DomainError, UserError, UserErrorCode
from storage import jobs
from storage.pg import Db, transaction
from storage.pg import account_tokens as account_store
from storage.pg import sessions as session_store
from storage.pg.account_tokens import AccountEmail

RESET_PATH = "reset-password"


# --- verification --------------------------------------------------------------------------


async def verify_email(deps: AccountDeps, token: str) -> None:
    """Confirm the address a verification or email-change token was sent to.

    A verification token marks the account's address verified (if it is still the account's
    address). An email-change token makes its address the account's, verified, and tells the
    old address. Raises DomainError: INVALID_CREDENTIALS for an unknown, used, expired or
    replaced token; EMAIL_TAKEN when another account took the new address meanwhile (the token
    stays unused). Side effects: the token marked used and the user updated, in one
    transaction; for a change, the notice to the old address queued after it.
    """
    notice = None
    async with transaction(deps.db) as conn:
        record = await account_tokens.consume(
            conn, token, account_tokens.VERIFY_EMAIL, account_tokens.CHANGE_EMAIL
        )
        if record.purpose == account_tokens.VERIFY_EMAIL:
            if not await account_store.mark_email_verified(conn, record.user_id, record.email):
                raise account_tokens.invalid_token()  # the address changed since
        else:
            account = await account_store.fetch_account_email(conn, record.user_id, lock=True)
            if account is None:
                raise account_tokens.invalid_token()
            if not await account_store.switch_email(conn, record.user_id, record.email):
                raise DomainError.single(
                    UserErrorCode.EMAIL_TAKEN, "Another account uses this address now.", "token"
                )
            await account_store.retire_tokens(
                conn, record.user_id, (account_tokens.VERIFY_EMAIL, account_tokens.CHANGE_EMAIL)
            )
            if account.email != record.email:
                notice = mail.compose(
                    deps.mail,
                    template="email_changed",
                    to=account.email,
                    subject="The email address of your account was changed",
                    username=account.username,
                    new_address=mask_address(record.email),
                )
    if notice is not None:
        await mail.queue_message(deps.redis, notice)


async def purge_ended_tokens(db: Db, *, retention: timedelta) -> int:
    """Delete verification, reset and email-change tokens that expired over `retention` ago
    (used ones included: a used token is refused by its mark, an expired one by its date);
    returns how many."""
    return await account_store.delete_ended_tokens(db, ended_before=datetime.now(UTC) - retention)


async def own_account_email(db: Db, viewer_id: int) -> AccountEmail | None:
    """The viewer's own address and whether it is verified: for the viewer's eyes only (the
    caller checks that the user asked about is the viewer). No side effects."""
    return await account_store.fetch_account_email(db, viewer_id)


def mask_address(email: str) -> str:
    """`a***@example.com`: enough for the owner to recognise, not the whole address."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


# --- password reset ------------------------------------------------------------------------


async def request_password_reset(deps: AccountDeps, email: str, client_ip: str | None) -> None:
    """Ask for a reset link for the account with this address, if there is one.

    The answer (return or RATE_LIMITED) and the work done here do not depend on whether the
    address has an account: the request is counted against its limits and a job is queued,
    which looks the address up (`start_password_reset`). Raises DomainError INVALID_INPUT for
    a malformed address, RATE_LIMITED past the limits per address and per client address.
    Side effects: the rate-limit windows and one queued job.
    """
    normalized = accounts.normalize_email(email)
    if isinstance(normalized, UserError):
        raise DomainError(normalized)
    await deps.login_throttle.reserve_password_reset(normalized, client_ip)
    await jobs.enqueue_start_password_reset(deps.redis, normalized, secrets.token_hex(16))


async def start_password_reset(deps: AccountDeps, email: str) -> bool:
    """The job behind a reset request: issue a token and queue its message when an account has
    this address (True), nothing otherwise (False). Earlier reset links stop working."""
    async with transaction(deps.db) as conn:
        account = await account_store.fetch_account_by_email(conn, email)
        if account is None:
            return False
        token = await account_tokens.issue(
            conn,
            user_id=account.user_id,
            purpose=account_tokens.RESET_PASSWORD,
            email=account.email,
            ttl=deps.mail.reset_ttl,
        )
    await mail.queue_message(
        deps.redis,
        mail.compose(
            deps.mail,
            template="reset_password",
            to=account.email,
            subject="Reset your password",
            username=account.username,
            link=deps.mail.link(RESET_PATH, token),
            token=token,
            valid_for=mail.describe(deps.mail.reset_ttl),
        ),
    )
    return True


async def reset_password(deps: AccountDeps, token: str, new_password: str) -> None:
    """Set a new password with a reset token, and end every session of the account.

    Raises DomainError INVALID_INPUT (the new password's length) or INVALID_CREDENTIALS (an
    unknown, used, expired or replaced token), nothing changed. Side effects in one
    transaction: the token used (with every other reset token of the account), the password
    hash replaced, the address marked verified (the link proved it), every session revoked;
    then their access tokens denied at once and their sockets closed (services.accounts)."""
    problem = accounts.check_password(new_password, "newPassword")
    if problem:
        raise DomainError(problem)
    password_hash = await deps.passwords.hash(new_password)
    async with transaction(deps.db) as conn:
        record = await account_tokens.consume(conn, token, account_tokens.RESET_PASSWORD)
        await account_store.retire_tokens(conn, record.user_id, (account_tokens.RESET_PASSWORD,))
        await account_store.set_password_hash(conn, record.user_id, password_hash)
        await account_store.mark_email_verified(conn, record.user_id, record.email)
        ended = await session_store.revoke_user_sessions(
            conn, record.user_id, reason="password reset"
        )
    await accounts.end_sessions(deps, record.user_id, ended)


# --- changes by the signed-in owner -------------------------------------------------------


async def change_password(
    deps: AccountDeps, viewer: Viewer, current_password: str, new_password: str
) -> None:
    """Replace the viewer's password; every other session of the account ends.

    Raises DomainError: INVALID_INPUT (new password's length), INVALID_CREDENTIALS (a wrong
    current password; counted like a failed log-in), RATE_LIMITED (too many wrong ones).
    Side effects: the password hash, the other sessions revoked (denylist, sockets closed),
    pending reset links retired."""
    problem = accounts.check_password(new_password, "newPassword")
    if problem:
        raise DomainError(problem)
    account = await _check_current_password(deps, viewer, current_password, "currentPassword")
    password_hash = await deps.passwords.hash(new_password)
    async with transaction(deps.db) as conn:
        await account_store.set_password_hash(conn, account.user_id, password_hash)
        await account_store.retire_tokens(conn, account.user_id, (account_tokens.RESET_PASSWORD,))
        ended = await session_store.revoke_user_sessions(
            conn, account.user_id, reason="password changed", keep=viewer.session_id
        )
    await accounts.end_sessions(deps, account.user_id, ended)


async def change_email(deps: AccountDeps, viewer: Viewer, new_email: str, password: str) -> None:
    """Ask to move the viewer's account to `new_email`: a confirmation link goes to the new
    address, and the account keeps its address until it is opened (verify_email).

    Raises DomainError: INVALID_INPUT (malformed, or the current address), EMAIL_TAKEN,
    INVALID_CREDENTIALS (wrong password; counted like a failed log-in), RATE_LIMITED.
    Side effects: a token (earlier change links stop working), a queued message."""
    normalized = accounts.normalize_email(new_email, "newEmail")
    if isinstance(normalized, UserError):
        raise DomainError(normalized)
    account = await _check_current_password(deps, viewer, password, "password")
    if normalized == account.email:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "This is the account's address already.", "newEmail"
        )
    async with transaction(deps.db) as conn:
        if await account_store.email_in_use(conn, normalized):
            raise DomainError.single(
                UserErrorCode.EMAIL_TAKEN, "An account with this email exists.", "newEmail"
            )
        message = await email_verification.verification_message(
            conn,
            deps.mail,
            user_id=account.user_id,
            username=account.username,
            email=normalized,
            change=True,
        )
    await mail.queue_message(deps.redis, message)


async def _own_account(conn: Db, viewer: Viewer) -> AccountEmail:
    account = await account_store.fetch_account_email(conn, viewer.user_id)
    if account is None:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "This account no longer exists.")
    return account


async def _check_current_password(
    deps: AccountDeps, viewer: Viewer, password: str, field: str
) -> AccountEmail:
    """The viewer's account once `password` proved to be its password; throttled and counted
    as log-ins are (by the username): a stolen session cannot guess the password faster."""
    account = await _own_account(deps.db, viewer)
    throttle = deps.login_throttle
    await throttle.reserve_attempt(account.username)
    if len(password) > accounts.PASSWORD_MAX_LENGTH or not await deps.passwords.verify(
        account.password_hash, password
    ):
        raise DomainError.single(UserErrorCode.INVALID_CREDENTIALS, "Wrong password.", field)
    await throttle.forgive_name(account.username)
    return account


async def verify_owner_password(
    deps: AccountDeps, viewer: Viewer, password: str, field: str = "password"
) -> AccountEmail:
    """The viewer's account once `password` proved to be its password (throttled and counted as
    log-ins are). Raises DomainError INVALID_CREDENTIALS, RATE_LIMITED, NOT_FOUND."""
    return await _check_current_password(deps, viewer, password, field)
