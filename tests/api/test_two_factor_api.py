"""Two-factor authentication through the real app: enrolment, confirmation and backup codes,
log-in challenges completed with a TOTP or a backup code, replays, expiry, throttling,
disabling. Every refusal changes nothing (rows and keys; the attempt counters move by design)."""

from __future__ import annotations

import re
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp

from services.totp import challenge_digest
from storage import redis_keys
from tests.api.helpers import PASSWORD, sign_up, snapshot
from tests.conftest import LiveApp

ENABLE = """mutation M($password: String!) {
  enableTwoFactor(input: {password: $password}) { secret provisioningUri
    userErrors { code field } } }"""
CONFIRM = """mutation M($code: String!) {
  confirmTwoFactor(input: {code: $code}) { backupCodes userErrors { code field } } }"""
DISABLE = """mutation M($code: String!) {
  disableTwoFactor(input: {code: $code}) { ok userErrors { code field } } }"""
LOG_IN = """mutation M($name: String!) {
  logIn(input: {usernameOrEmail: $name, password: "correct horse battery"}) {
    accessToken refreshToken twoFactorChallenge twoFactorChallengeExpiresAt
    userErrors { code field } } }"""
COMPLETE = """mutation M($challenge: String!, $code: String!) {
  completeTwoFactorLogIn(input: {challenge: $challenge, code: $code}) {
    accessToken refreshToken viewer { username } userErrors { code field } } }"""
ENABLED = "{ viewer { twoFactorEnabled } }"
BACKUP_CODE = re.compile(r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}")


def code_at(secret: str, offset_steps: int = 0) -> str:
    """The TOTP code of the step `offset_steps` from now."""
    when = datetime.now(UTC) + timedelta(seconds=30 * offset_steps)
    return pyotp.TOTP(secret).at(when)


def wrong_code(secret: str) -> str:
    """A 6-digit code valid for none of the steps the server accepts now."""
    valid = {code_at(secret, offset) for offset in range(-2, 3)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def refusal(code: str, field: str | None) -> dict[str, Any]:
    return {"code": code, "field": ["input", field] if field else None}


async def mutate(
    live: LiveApp, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    body = await live.graphql(query, variables, token=token)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    result: dict[str, Any] = payload
    return result


async def unchanged(
    live: LiveApp, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    """The payload of a refused call, asserting no row or key changed (but the attempt
    counters, which move by design)."""
    before = await snapshot(live.resources, with_rate_limits=False)
    payload = await mutate(live, query, variables, token)
    assert payload["userErrors"] != [], payload
    assert await snapshot(live.resources, with_rate_limits=False) == before
    return payload


async def enrolled(live: LiveApp, username: str) -> tuple[dict[str, Any], str, list[str]]:
    """A signed-up user with two-factor on: (sign-up payload, secret, backup codes)."""
    user = await sign_up(live, username)
    enabled = await mutate(live, ENABLE, {"password": PASSWORD}, user["accessToken"])
    confirmed = await mutate(
        live, CONFIRM, {"code": code_at(enabled["secret"])}, user["accessToken"]
    )
    assert confirmed["userErrors"] == []
    return user, enabled["secret"], confirmed["backupCodes"]


async def challenge_for(live: LiveApp, username: str) -> str:
    payload = await mutate(live, LOG_IN, {"name": username})
    assert payload["accessToken"] is None
    assert payload["refreshToken"] is None
    challenge: str = payload["twoFactorChallenge"]
    return challenge


async def test_enrolment_then_log_in_with_a_code_each_code_once(live: LiveApp) -> None:
    user = await sign_up(live, "tina")
    token = user["accessToken"]
    wrong_password = await unchanged(live, ENABLE, {"password": "not the password"}, token)
    assert wrong_password["userErrors"] == [refusal("INVALID_CREDENTIALS", "password")]
    assert await mutate(live, CONFIRM, {"code": "123456"}, token) == {
        "backupCodes": None,
        "userErrors": [refusal("INVALID_INPUT", None)],
    }

    enabled = await mutate(live, ENABLE, {"password": PASSWORD}, token)
    secret = enabled["secret"]
    uri = urllib.parse.urlsplit(enabled["provisioningUri"])
    assert (uri.scheme, uri.netloc, urllib.parse.unquote(uri.path)) == (
        "otpauth",
        "totp",
        "/Shutter:tina",
    )
    assert urllib.parse.parse_qs(uri.query) == {"secret": [secret], "issuer": ["Shutter"]}
    # Pending: log-ins are unchanged until a first code confirms it.
    assert await live.graphql(ENABLED, token=token) == {
        "data": {"viewer": {"twoFactorEnabled": False}}
    }
    assert (await mutate(live, LOG_IN, {"name": "tina"}))["accessToken"] is not None
    # The secret is sealed at rest.
    sealed = await live.resources.db.fetchval("SELECT secret_ciphertext FROM two_factor")
    assert secret.encode() not in sealed

    bad = await unchanged(live, CONFIRM, {"code": wrong_code(secret)}, token)
    assert bad == {"backupCodes": None, "userErrors": [refusal("INVALID_CREDENTIALS", "code")]}
    confirm_code = code_at(secret)
    confirmed = await mutate(live, CONFIRM, {"code": confirm_code}, token)
    codes = confirmed["backupCodes"]
    assert len(set(codes)) == 10
    assert all(BACKUP_CODE.fullmatch(c) for c in codes)
    stored = await live.resources.db.fetch("SELECT code_hash, used_at FROM two_factor_backup_codes")
    assert len(stored) == 10
    assert all(len(r["code_hash"]) == 32 and not r["used_at"] for r in stored)
    assert await live.graphql(ENABLED, token=token) == {
        "data": {"viewer": {"twoFactorEnabled": True}}
    }
    again = await unchanged(live, ENABLE, {"password": PASSWORD}, token)
    assert again["userErrors"] == [refusal("ALREADY_EXISTS", None)]

    logged_in = await mutate(live, LOG_IN, {"name": "tina"})
    assert logged_in["accessToken"] is None
    assert logged_in["userErrors"] == []
    challenge = logged_in["twoFactorChallenge"]
    expires_at = datetime.fromisoformat(logged_in["twoFactorChallengeExpiresAt"])
    assert timedelta(minutes=4) < expires_at - datetime.now(UTC) <= timedelta(minutes=5)
    # The code that confirmed enrolment was used: it does not work a second time.
    replayed = await unchanged(live, COMPLETE, {"challenge": challenge, "code": confirm_code})
    assert replayed["userErrors"] == [refusal("INVALID_CREDENTIALS", "code")]
    next_code = code_at(secret, 1)
    done = await mutate(live, COMPLETE, {"challenge": challenge, "code": next_code})
    assert done["userErrors"] == []
    assert done["viewer"] == {"username": "tina"}
    assert await live.graphql("{ viewer { username } }", token=done["accessToken"]) == {
        "data": {"viewer": {"username": "tina"}}
    }
    # The challenge works once; the code too, even with a fresh challenge.
    reused = await unchanged(live, COMPLETE, {"challenge": challenge, "code": code_at(secret, 1)})
    assert reused["userErrors"] == [refusal("INVALID_CREDENTIALS", "challenge")]
    fresh = await challenge_for(live, "tina")
    replay = await unchanged(live, COMPLETE, {"challenge": fresh, "code": next_code})
    assert replay["userErrors"] == [refusal("INVALID_CREDENTIALS", "code")]


async def test_backup_codes_work_once_and_a_code_turns_two_factor_off(live: LiveApp) -> None:
    user, secret, codes = await enrolled(live, "uma")
    first = await mutate(
        live, COMPLETE, {"challenge": await challenge_for(live, "uma"), "code": codes[0]}
    )
    assert first["userErrors"] == []
    assert first["accessToken"]
    challenge = await challenge_for(live, "uma")
    used = await unchanged(live, COMPLETE, {"challenge": challenge, "code": codes[0]})
    assert used["userErrors"] == [refusal("INVALID_CREDENTIALS", "code")]
    spelled = codes[1].upper().replace("-", " ")  # case and separators do not matter
    second = await mutate(live, COMPLETE, {"challenge": challenge, "code": spelled})
    assert second["userErrors"] == []

    token = user["accessToken"]
    wrong = await unchanged(live, DISABLE, {"code": wrong_code(secret)}, token)
    assert wrong == {"ok": False, "userErrors": [refusal("INVALID_CREDENTIALS", "code")]}
    wrong_backup = await unchanged(live, DISABLE, {"code": codes[0]}, token)
    assert wrong_backup["userErrors"] == [refusal("INVALID_CREDENTIALS", "code")]
    assert await mutate(live, DISABLE, {"code": codes[2]}, token) == {"ok": True, "userErrors": []}
    assert await live.resources.db.fetchval("SELECT count(*) FROM two_factor") == 0
    assert await live.resources.db.fetchval("SELECT count(*) FROM two_factor_backup_codes") == 0
    assert (await mutate(live, LOG_IN, {"name": "uma"}))["accessToken"] is not None
    off = await unchanged(live, DISABLE, {"code": codes[3]}, token)
    assert off["userErrors"] == [refusal("INVALID_INPUT", None)]


async def test_a_challenge_expires(live: LiveApp) -> None:
    _, secret, _ = await enrolled(live, "vera")
    challenge = await challenge_for(live, "vera")
    key = redis_keys.two_factor_challenge(challenge_digest(challenge))
    redis = live.resources.redis
    assert 290 <= await redis.ttl(key) <= 300  # TWO_FACTOR_CHALLENGE_TTL_SECONDS
    assert await redis.expire(key, 0)  # its lifetime runs out now (Redis expires it at once)
    assert not await redis.exists(key)
    late = await unchanged(live, COMPLETE, {"challenge": challenge, "code": code_at(secret, 1)})
    assert late["userErrors"] == [refusal("INVALID_CREDENTIALS", "challenge")]


async def test_wrong_codes_are_throttled_like_passwords(live: LiveApp) -> None:
    _, secret, codes = await enrolled(live, "wanda")
    challenge = await challenge_for(live, "wanda")
    limit = live.resources.settings.login_failures_per_account
    for _ in range(limit):
        wrong = await mutate(live, COMPLETE, {"challenge": challenge, "code": wrong_code(secret)})
        assert wrong["userErrors"] == [refusal("INVALID_CREDENTIALS", "code")]
    # Past the limit even the right code is refused, and nothing is used up.
    throttled = await unchanged(live, COMPLETE, {"challenge": challenge, "code": codes[0]})
    assert throttled["userErrors"] == [refusal("RATE_LIMITED", None)]
    assert (
        await live.resources.db.fetchval(
            "SELECT count(*) FROM two_factor_backup_codes WHERE used_at IS NOT NULL"
        )
        == 0
    )
