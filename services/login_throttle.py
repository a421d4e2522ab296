"""Log-in and sign-up throttling: failed log-ins counted per account name and per client
address, sign-up attempts per client address (moving windows in Redis, through the same `limits`
limiter as the abuse limits; see storage.rate_limits).

The rules, checked BEFORE any password work (a throttled log-in costs no argon2 time, and answers
the same whatever the password and whether the account exists):

- **Per account name**: at most `failures_per_account` failed log-ins per window for one name,
  the username or email exactly as it is looked up (trimmed, lower case). Names are counted, not
  user ids, so a throttled answer never tells whether a name belongs to an account, nor that a
  username and an email name the same one; the price is that an account named two ways (its
  username, its email) allows twice the number. Unknown names are throttled the same way. Names
  are stored as a SHA-256 digest, never in clear.
  The attempt is *reserved* (counted) before the password is checked, so a burst of concurrent
  guesses cannot outrun the limit; a successful log-in then clears the name's counter (the owner
  has just proved the password: their earlier typos are forgiven, and an attacker's failures
  against the name start afresh only after the owner signs in).
- **Per client address**: at most `failures_per_ip` failed log-ins per window from one address,
  over every name (credential stuffing). Only failures count, after the fact: successes never
  count (many users behind one NAT), and a success does not clear the address's counter (else
  an attacker could interleave log-ins to an account of their own). Because counting follows
  the check, concurrent requests of one address can exceed it by the number in flight; the
  per-name reservation is what bounds guesses against any one account.

Sign-ups are limited per client address (`sign_ups_per_ip` per window): every well-formed
attempt is counted before anything is looked up or hashed, whether it creates an account or
answers USERNAME_TAKEN / EMAIL_TAKEN, so neither mass account creation nor probing which emails
are registered goes faster than the limit from one address.

The client address is the ASGI scope's client: uvicorn rewrites it from `X-Forwarded-For` only
when the peer is a trusted proxy (`forwarded_allow_ips`). With no address known, only the
per-name limit applies.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond

from services.rate_limits import refusal
from storage import rate_limits
from storage.rate_limits import RateLimiter

NAME_ACTION = "login-name"
ADDRESS_ACTION = "login-ip"
SIGN_UP_ACTION = "signup-ip"
RESET_ADDRESS_ACTION = "reset-email"
RESET_IP_ACTION = "reset-ip"


@dataclass(frozen=True, slots=True)
class LoginThrottlePolicy:
    """How many failed log-ins one name and one address may have in any `window_seconds`, and
    how many sign-up attempts one address may make in any `sign_up_window_seconds`."""

    failures_per_account: int
    failures_per_ip: int
    window_seconds: int
    sign_ups_per_ip: int
    sign_up_window_seconds: int
    password_resets_per_address: int = 5
    password_resets_per_ip: int = 20
    password_reset_window_seconds: int = 3600

    def account_window(self) -> tuple[RateLimitItem]:
        return (RateLimitItemPerSecond(self.failures_per_account, self.window_seconds),)

    def address_window(self) -> tuple[RateLimitItem]:
        return (RateLimitItemPerSecond(self.failures_per_ip, self.window_seconds),)

    def sign_up_window(self) -> tuple[RateLimitItem]:
        return (RateLimitItemPerSecond(self.sign_ups_per_ip, self.sign_up_window_seconds),)

    def reset_address_window(self) -> tuple[RateLimitItem]:
        return (
            RateLimitItemPerSecond(
                self.password_resets_per_address, self.password_reset_window_seconds
            ),
        )

    def reset_ip_window(self) -> tuple[RateLimitItem]:
        return (
            RateLimitItemPerSecond(self.password_resets_per_ip, self.password_reset_window_seconds),
        )


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    """The limiter and the policy (built from settings in resources.py)."""

    limiter: RateLimiter
    policy: LoginThrottlePolicy

    async def ensure_address_allowed(self, client_ip: str | None) -> None:
        """Refuse when the address has used up its failures, counting nothing.

        Raises DomainError RATE_LIMITED. Side effects: none (one Redis read)."""
        if client_ip is None:
            return
        result = await rate_limits.check(
            self.limiter, ADDRESS_ACTION, client_ip, self.policy.address_window()
        )
        if not result.allowed:
            raise refusal("failed log-ins", result)

    async def reserve_attempt(self, name: str) -> None:
        """Count one attempt against the name, or refuse it when its window is full.

        Raises DomainError RATE_LIMITED (nothing counted then). Side effects when allowed: one
        entry in the name's window (Redis), which stays if the attempt fails and is cleared by
        `forgive_name` if it succeeds."""
        result = await rate_limits.hit(
            self.limiter, NAME_ACTION, name_digest(name), self.policy.account_window()
        )
        if not result.allowed:
            raise refusal("failed log-ins", result)

    async def count_failure(self, client_ip: str | None) -> None:
        """Count a failed log-in against the address (the name's was reserved already).

        Side effects: one entry in the address's window when it has room (Redis)."""
        if client_ip is not None:
            await rate_limits.consume(
                self.limiter, ADDRESS_ACTION, client_ip, self.policy.address_window()
            )

    async def reserve_sign_up(self, client_ip: str | None) -> None:
        """Count one sign-up attempt against the address, or refuse it when its window is full.

        Raises DomainError RATE_LIMITED (nothing counted then). Side effects when allowed: one
        entry in the address's sign-up window (Redis). No address known: nothing."""
        if client_ip is None:
            return
        result = await rate_limits.hit(
            self.limiter, SIGN_UP_ACTION, client_ip, self.policy.sign_up_window()
        )
        if not result.allowed:
            raise refusal("sign-ups", result)

    async def reserve_password_reset(self, email: str, client_ip: str | None) -> None:
        """Count one password reset request against the client address and the email address
        (as typed, normalised; kept as a digest), or refuse it when either window is full.

        Unknown and known addresses are counted alike, so the answer never tells them apart.
        Raises DomainError RATE_LIMITED (nothing counted then). Side effects when allowed: one
        entry in each window (Redis; concurrent requests of one client address may pass its
        limit by the number in flight, as failed log-ins do)."""
        address_window = self.policy.reset_address_window()
        ip_window = self.policy.reset_ip_window()
        digest = name_digest(email)
        # Both checked before either counts: a refusal counts nothing anywhere.
        if client_ip is not None:
            result = await rate_limits.check(self.limiter, RESET_IP_ACTION, client_ip, ip_window)
            if not result.allowed:
                raise refusal("password reset requests", result)
        result = await rate_limits.hit(self.limiter, RESET_ADDRESS_ACTION, digest, address_window)
        if not result.allowed:
            raise refusal("password reset requests", result)
        if client_ip is not None:
            await rate_limits.consume(self.limiter, RESET_IP_ACTION, client_ip, ip_window)

    async def forgive_name(self, name: str) -> None:
        """After a successful log-in: forget the name's failures (and this attempt).

        Side effects: deletes the name's window (Redis)."""
        await rate_limits.clear(
            self.limiter, NAME_ACTION, name_digest(name), self.policy.account_window()
        )


def name_digest(name: str) -> str:
    """What the per-name counter is keyed by: no email address is kept in clear in Redis."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]
