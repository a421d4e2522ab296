"""The mechanics of two-factor sign-in, without the use cases (services.two_factor has those):

- TOTP (RFC 6238 through `pyotp`): 6 digits, 30-second steps, SHA-1 (what every authenticator
  app reads from an otpauth:// URI). A code is accepted for its step and one step either side
  (clock drift), and only for a step later than the last one accepted (no replay).
- The TOTP secret is stored sealed: AES-256-GCM under a key derived with HKDF-SHA256 from the
  service's SECRET_KEY (the repo's one key facility: it also signs access tokens and upload
  URLs), with the user id as associated data (a sealed secret copied to another account's row
  does not open). A leaked database alone holds no usable secret. Rotating SECRET_KEY makes the
  sealed secrets unreadable: such accounts then sign in with a backup code (docs/security.md).
- Backup codes: 16 characters of base32 (80 random bits), shown as `xxxx-xxxx-xxxx-xxxx`, kept
  as SHA-256 digests. A fast hash is enough for 80-bit random codes: no dictionary, and 2^80
  guesses are out of reach offline; argon2 would buy nothing and cost ten password hashes per
  confirmation and up to ten per sign-in attempt.
- Log-in challenges: 256 random bits, kept in Redis as a SHA-256 digest with a TTL
  (storage.two_factor_challenges), taken once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.asyncio import Redis

from storage import two_factor_challenges as challenge_store

ISSUER = "Shutter"
TOTP_DIGITS = 6
TOTP_STEP_SECONDS = 30
TOTP_DRIFT_STEPS = 1
BACKUP_CODE_COUNT = 10
BACKUP_CODE_LENGTH = 16
CODE_MAX_LENGTH = 64
CHALLENGE_MAX_LENGTH = 128
_KEY_INFO = b"shutter two-factor secrets v1"
_NONCE_BYTES = 12
_TOTP_CODE = re.compile(r"[0-9]{6}")
_SEPARATORS = re.compile(r"[\s-]+")


@dataclass(frozen=True, slots=True)
class TwoFactorConfig:
    """The sealing key (from SECRET_KEY) and how long a log-in challenge lives."""

    sealing_key: bytes
    challenge_ttl: timedelta

    @classmethod
    def from_secret_key(cls, secret_key: str, *, challenge_ttl: timedelta) -> TwoFactorConfig:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(
            secret_key.encode()
        )
        return cls(sealing_key=key, challenge_ttl=challenge_ttl)


@dataclass(frozen=True, slots=True)
class TwoFactorRequired:
    """`logIn`'s answer for an account with two-factor on: no tokens, a challenge to complete
    with a code (completeTwoFactorLogIn) before it expires."""

    challenge: str
    expires_at: datetime


class UnreadableSecretError(Exception):
    """A sealed secret that does not open (SECRET_KEY changed, or the row was tampered with)."""


def new_secret() -> str:
    """A base32 TOTP secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI authenticator apps read (often as a QR code)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=ISSUER
    )


def seal(config: TwoFactorConfig, user_id: int, secret: str) -> bytes:
    """nonce ‖ AES-GCM ciphertext of the secret, bound to the user id. No I/O."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(config.sealing_key).encrypt(nonce, secret.encode(), _aad(user_id))


def unseal(config: TwoFactorConfig, user_id: int, sealed: bytes) -> str:
    """The secret `seal` sealed for this user; raises UnreadableSecretError otherwise."""
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        return AESGCM(config.sealing_key).decrypt(nonce, ciphertext, _aad(user_id)).decode()
    except (InvalidTag, ValueError) as error:
        raise UnreadableSecretError("the sealed TOTP secret does not open") from error


def _aad(user_id: int) -> bytes:
    return f"two-factor:{user_id}".encode()


def is_totp_code(code: str) -> bool:
    return _TOTP_CODE.fullmatch(code.strip()) is not None


def matching_step(
    secret: str, code: str, *, after_step: int, now: datetime | None = None
) -> int | None:
    """The time step, later than `after_step`, whose code is `code` (the current step or one
    either side); None when none matches. Constant-time comparisons. No I/O."""
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS)
    current = totp.timecode(now or datetime.now(UTC))
    candidate = code.strip()
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if step > after_step and hmac.compare_digest(totp.generate_otp(step), candidate):
            return step
    return None


def new_backup_codes() -> list[str]:
    """BACKUP_CODE_COUNT fresh codes, `xxxx-xxxx-xxxx-xxxx` (lower-case base32)."""
    codes = []
    for _ in range(BACKUP_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        codes.append("-".join(raw[i : i + 4] for i in range(0, BACKUP_CODE_LENGTH, 4)))
    return codes


def backup_code_digest(code: str) -> bytes:
    """SHA-256 of the code in canonical form: case, spaces and dashes do not matter."""
    return hashlib.sha256(_SEPARATORS.sub("", code).lower().encode()).digest()


def challenge_digest(challenge: str) -> str:
    return hashlib.sha256(challenge.encode()).hexdigest()


async def issue_challenge(redis: Redis, config: TwoFactorConfig, user_id: int) -> TwoFactorRequired:
    """A new log-in challenge for the user. Side effect: one Redis key with a TTL."""
    challenge = secrets.token_urlsafe(32)
    ttl = int(config.challenge_ttl.total_seconds())
    await challenge_store.store_challenge(
        redis, challenge_digest(challenge), user_id, ttl_seconds=ttl
    )
    expires_at = (datetime.now(UTC) + config.challenge_ttl).replace(microsecond=0)
    return TwoFactorRequired(challenge=challenge, expires_at=expires_at)


def throttle_name(user_id: int) -> str:
    """The name second-factor attempts are counted under (services.login_throttle): distinct
    from any username (no ':') and any email (no '@')."""
    return f"two-factor:{user_id}"
