"""Two-factor authentication (TOTP) of an account: enrolment, confirmation with backup codes,
disabling, and the second step of a log-in (services.totp has the mechanics).

- `enable_two_factor` (with the password) stores a new secret, pending: log-ins are unchanged
  until `confirm_two_factor` proves an authenticator app holds it with a first code; that
  turns two-factor on and hands out ten backup codes, once.
- `logIn` of such an account answers a challenge (services.accounts.log_in);
  `complete_log_in` with the challenge and a TOTP or backup code opens the session.
- `disable_two_factor` with a TOTP or backup code turns it off.

Every code check is throttled like a password (services.login_throttle): counted per account
(under `totp.throttle_name`) before it is checked, forgiven on success; failures count per
client address too. A TOTP code is accepted once (its time step is recorded), a backup code
once (marked used).
"""

from __future__ import annotations

from dataclasses import dataclass

from services import accounts, totp
from services.account_recovery import _check_current_password as check_current_password
from services.accounts import AccountDeps, SignedIn
from services.auth import Viewer
from services.errors import DomainError, UserErrorCode
from services.session_clients import session_client
from storage import two_factor_challenges as challenge_store
from storage.pg import Db, transaction
from storage.pg import two_factor as two_factor_store
from storage.pg import users as user_store
from storage.pg.two_factor import TwoFactorRecord


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A pending enrolment: the secret to type in, and the URI to scan."""

    secret: str
    provisioning_uri: str


def _wrong_code(field: str = "code") -> DomainError:
    return DomainError.single(UserErrorCode.INVALID_CREDENTIALS, "Wrong code.", field)


def _not_on() -> DomainError:
    return DomainError.single(
        UserErrorCode.INVALID_INPUT, "Two-factor authentication is not on for this account."
    )


def _invalid_challenge() -> DomainError:
    return DomainError.single(
        UserErrorCode.INVALID_CREDENTIALS,
        "This sign-in challenge is not valid: it expired or was used. Log in again.",
        "challenge",
    )


async def enable_two_factor(deps: AccountDeps, viewer: Viewer, password: str) -> Enrolment:
    """Start (or restart) enrolment: a new secret, pending until confirmed.

    Raises DomainError: INVALID_CREDENTIALS (wrong password; counted like a failed log-in),
    RATE_LIMITED, ALREADY_EXISTS (two-factor is on already: disable it first), nothing
    changed. Side effects: the sealed secret stored (replacing a pending one)."""
    account = await check_current_password(deps, viewer, password, "password")
    secret = totp.new_secret()
    sealed = totp.seal(deps.two_factor, account.user_id, secret)
    if not await two_factor_store.replace_pending(deps.db, account.user_id, sealed):
        raise DomainError.single(
            UserErrorCode.ALREADY_EXISTS,
            "Two-factor authentication is on already; disable it to enrol again.",
        )
    return Enrolment(
        secret=secret, provisioning_uri=totp.provisioning_uri(secret, account.username)
    )


async def confirm_two_factor(deps: AccountDeps, viewer: Viewer, code: str) -> list[str]:
    """Turn two-factor on with a first code of the pending secret; returns the ten backup codes
    (only their digests are kept: this is the one time they are shown).

    Raises DomainError: INVALID_INPUT (no pending enrolment), INVALID_CREDENTIALS (wrong
    code), RATE_LIMITED; nothing changed. Side effects in one transaction: the enrolment
    confirmed, its step recorded, the backup codes' digests stored."""
    name = totp.throttle_name(viewer.user_id)
    await deps.login_throttle.reserve_attempt(name)
    codes = totp.new_backup_codes()
    async with transaction(deps.db) as conn:
        record = await two_factor_store.fetch_two_factor(conn, viewer.user_id, lock=True)
        if record is None or record.confirmed_at is not None:
            raise DomainError.single(
                UserErrorCode.INVALID_INPUT,
                "No two-factor enrolment waits for confirmation: call enableTwoFactor first.",
            )
        step = _totp_step(deps, record, code)
        if step is None:
            raise _wrong_code()
        await two_factor_store.record_step(conn, viewer.user_id, step)
        await two_factor_store.confirm(
            conn, viewer.user_id, [totp.backup_code_digest(c) for c in codes]
        )
    await deps.login_throttle.forgive_name(name)
    return codes


async def disable_two_factor(deps: AccountDeps, viewer: Viewer, code: str) -> None:
    """Turn two-factor off with a TOTP or an unused backup code.

    Raises DomainError: INVALID_INPUT (it is not on), INVALID_CREDENTIALS (wrong code),
    RATE_LIMITED; nothing changed. Side effects: the enrolment and its backup codes deleted."""
    name = totp.throttle_name(viewer.user_id)
    await deps.login_throttle.reserve_attempt(name)
    async with transaction(deps.db) as conn:
        record = await two_factor_store.fetch_two_factor(conn, viewer.user_id, lock=True)
        if record is None or record.confirmed_at is None:
            raise _not_on()
        if not await _use_code(deps, conn, record, code):
            raise _wrong_code()
        await two_factor_store.delete_two_factor(conn, viewer.user_id)
    await deps.login_throttle.forgive_name(name)


async def complete_log_in(
    deps: AccountDeps,
    challenge: str,
    code: str,
    *,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> SignedIn:
    """The second step of a log-in: the challenge `logIn` handed out and a TOTP or backup code
    open the session. The challenge works once, until it expires; a wrong code leaves it
    usable (until the attempts run out).

    Raises DomainError: INVALID_CREDENTIALS (unknown, used or expired challenge; wrong code),
    RATE_LIMITED (too many wrong codes for the account, or failures from the address), with
    nothing changed but the counters. Side effects on success, in one transaction: the code
    used (TOTP step recorded or backup code marked), the challenge taken (Redis), a session
    inserted; then the account's code failures forgiven."""
    if not challenge or len(challenge) > totp.CHALLENGE_MAX_LENGTH:
        raise _invalid_challenge()
    digest = totp.challenge_digest(challenge)
    user_id = await challenge_store.challenge_user(deps.redis, digest)
    if user_id is None:
        raise _invalid_challenge()
    throttle = deps.login_throttle
    await throttle.ensure_address_allowed(client_ip)
    name = totp.throttle_name(user_id)
    await throttle.reserve_attempt(name)
    client = await session_client(client_ip, user_agent)
    async with transaction(deps.db) as conn:
        record = await two_factor_store.fetch_two_factor(conn, user_id, lock=True)
        users = await user_store.fetch_users_by_ids(conn, [user_id])
        if record is None or record.confirmed_at is None or not users:
            raise _invalid_challenge()  # turned off or gone since the password step
        if not await _use_code(deps, conn, record, code):
            await throttle.count_failure(client_ip)
            raise _wrong_code()
        if not await challenge_store.take_challenge(deps.redis, digest):
            raise _invalid_challenge()  # taken by a concurrent completion: this one rolls back
        signed_in = await accounts.sign_in_owner(deps, conn, users[0], client)
    await throttle.forgive_name(name)
    await accounts.after_sign_in(deps, signed_in)
    return signed_in


def _totp_step(deps: AccountDeps, record: TwoFactorRecord, code: str) -> int | None:
    """The time step `code` is valid for (later than the last one used), else None."""
    if not totp.is_totp_code(code):
        return None
    try:
        secret = totp.unseal(deps.two_factor, record.user_id, record.secret_ciphertext)
    except totp.UnreadableSecretError:
        return None  # SECRET_KEY changed: only backup codes work (docs/security.md)
    return totp.matching_step(secret, code, after_step=record.last_used_step)


async def _use_code(deps: AccountDeps, conn: Db, record: TwoFactorRecord, code: str) -> bool:
    """Use a TOTP code (recording its step) or a backup code (marking it used) of the locked
    enrolment; False when it is neither (nothing changed)."""
    if len(code) > totp.CODE_MAX_LENGTH:
        return False
    step = _totp_step(deps, record, code)
    if step is not None:
        await two_factor_store.record_step(conn, record.user_id, step)
        return True
    if totp.is_totp_code(code):
        return False
    return await two_factor_store.use_backup_code(
        conn, record.user_id, totp.backup_code_digest(code)
    )


async def is_two_factor_on(db: Db, user_id: int) -> bool:
    """Whether the user's log-ins need a code (a confirmed enrolment). One query."""
    return await two_factor_store.is_two_factor_on(db, user_id)
