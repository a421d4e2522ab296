"""Log-in throttling over real HTTP: failures per account name and per client address, refused
with RATE_LIMITED before any password check, successes not counted (and clearing the name's
failures), the client address believed from X-Forwarded-For only from a trusted proxy.

The shared live server is uvicorn with its default trusted proxy (127.0.0.1, where the tests
connect from), so each request's `X-Forwarded-For` stands for a different client."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from resources import Resources
from services.login_throttle import ADDRESS_ACTION, NAME_ACTION, name_digest
from settings import Settings
from storage import rate_limits as rate_limit_store
from storage import redis_keys
from tests.api.configured import app_with
from tests.api.helpers import PASSWORD, sign_up, snapshot
from tests.conftest import LiveApp

LOG_IN = """
mutation LogIn($input: LogInInput!) {
  logIn(input: $input) { accessToken viewer { username } userErrors { code field message } }
}
"""
THROTTLED = {
    "accessToken": None,
    "viewer": None,
    "userErrors": [
        {
            "code": "RATE_LIMITED",
            "field": None,
            "message": "Too many failed log-ins: try again in 15 minutes.",
        }
    ],
}
WRONG = [
    {"code": "INVALID_CREDENTIALS", "field": None, "message": "Wrong username, email or password."}
]


async def log_in(
    http: httpx.AsyncClient, name: str, password: str, *, client: str
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={
            "query": LOG_IN,
            "variables": {"input": {"usernameOrEmail": name, "password": password}},
        },
        headers={"x-forwarded-for": client},
    )
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["data"]["logIn"]
    return payload


async def remaining(resources: Resources, action: str, subject: str) -> int:
    throttle = resources.accounts.login_throttle
    (window,) = (
        throttle.policy.address_window()
        if action == ADDRESS_ACTION
        else throttle.policy.account_window()
    )
    stats = await rate_limit_store.window_stats(throttle.limiter, action, subject, window)
    return stats.remaining


async def redis_lists(resources: Resources) -> dict[bytes, list[bytes]]:
    """Every rate-limit window (moving windows are Redis lists of timestamps)."""
    keys = await resources.redis.keys(f"{redis_keys.RATE_LIMIT_PREFIX}*")
    assert keys
    return {key: await resources.redis.lrange(key, 0, -1) for key in keys}


@pytest.fixture
def verify_calls(live: LiveApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every password check the app makes (the real check still runs)."""
    calls: list[str] = []
    passwords = live.resources.passwords
    real_verify = passwords.verify

    async def spy(password_hash: str | None, password: str) -> bool:
        calls.append(password)
        return await real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify", spy)
    return calls


async def test_ten_failures_for_a_name_refuse_the_eleventh_without_checking_the_password(
    live: LiveApp, verify_calls: list[str]
) -> None:
    await sign_up(live, "bob")
    for attempt in range(10):  # each from another address: only the name's limit applies
        failed = await log_in(live.http, "bob", f"guess {attempt}", client=f"198.51.100.{attempt}")
        assert failed["userErrors"] == WRONG
    assert await remaining(live.resources, NAME_ACTION, name_digest("bob")) == 0
    sessions = await live.resources.db.fetchval("SELECT count(*) FROM sessions")
    before = await redis_lists(live.resources)
    verify_calls.clear()

    # Even the right password is refused now, and the refusal costs no password check.
    refused = await log_in(live.http, " BOB ", PASSWORD, client="198.51.100.200")
    assert refused == THROTTLED
    assert verify_calls == []
    assert await live.resources.db.fetchval("SELECT count(*) FROM sessions") == sessions
    assert await redis_lists(live.resources) == before

    # Another name of the same account is another counter (no oracle linking the two).
    by_email = await log_in(live.http, "bob@example.com", PASSWORD, client="198.51.100.201")
    assert by_email["viewer"] == {"username": "bob"}


async def test_an_unknown_name_is_throttled_exactly_like_a_known_one(live: LiveApp) -> None:
    for attempt in range(10):
        failed = await log_in(live.http, "ghost", f"guess {attempt}", client=f"192.0.2.{attempt}")
        assert failed["userErrors"] == WRONG
    assert await log_in(live.http, "ghost", "guess", client="192.0.2.99") == THROTTLED


async def test_a_success_clears_the_names_failures_but_is_not_counted_itself(
    live: LiveApp,
) -> None:
    await sign_up(live, "carol")
    for attempt in range(9):
        await log_in(live.http, "carol", f"guess {attempt}", client="203.0.113.5")
    assert await remaining(live.resources, NAME_ACTION, name_digest("carol")) == 1
    assert await remaining(live.resources, ADDRESS_ACTION, "203.0.113.5") == 41

    signed_in = await log_in(live.http, "carol", PASSWORD, client="203.0.113.5")
    assert signed_in["viewer"] == {"username": "carol"}
    assert await remaining(live.resources, NAME_ACTION, name_digest("carol")) == 10
    # The address keeps its failures: an attacker cannot wipe them with an account of their own.
    assert await remaining(live.resources, ADDRESS_ACTION, "203.0.113.5") == 41

    for attempt in range(10):
        failed = await log_in(live.http, "carol", f"again {attempt}", client="203.0.113.6")
        assert failed["userErrors"] == WRONG
    assert await log_in(live.http, "carol", PASSWORD, client="203.0.113.6") == THROTTLED


async def test_fifty_failures_from_an_address_refuse_every_name_from_it(
    live: LiveApp, verify_calls: list[str]
) -> None:
    await sign_up(live, "dora")
    stuffer = "203.0.113.66"
    for attempt in range(50):  # credential stuffing: one guess per name, all from one address
        failed = await log_in(live.http, f"user{attempt}", "guess guess", client=stuffer)
        assert failed["userErrors"] == WRONG
    before = await redis_lists(live.resources)
    verify_calls.clear()

    assert await log_in(live.http, "dora", PASSWORD, client=stuffer) == THROTTLED
    assert verify_calls == []
    assert await redis_lists(live.resources) == before
    # The name was not charged for the refused attempt, and other addresses are unaffected.
    assert await remaining(live.resources, NAME_ACTION, name_digest("dora")) == 10
    other = await log_in(live.http, "dora", PASSWORD, client="203.0.113.67")
    assert other["viewer"] == {"username": "dora"}


async def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    settings: Settings, clean: Resources
) -> None:
    async with app_with(settings, clean, forwarded_allow_ips="10.255.255.1") as untrusting:
        failed = await log_in(untrusting.http, "nobody", "guess guess", client="198.51.100.7")
        assert failed["userErrors"] == WRONG
    # Counted against the TCP peer, not against the address the client claimed.
    assert await remaining(clean, ADDRESS_ACTION, "127.0.0.1") == 49
    assert await remaining(clean, ADDRESS_ACTION, "198.51.100.7") == 50


SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { accessToken viewer { username } userErrors { code field message } }
}
"""


async def sign_up_from(
    http: httpx.AsyncClient, username: str, email: str, *, client: str
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={
            "query": SIGN_UP,
            "variables": {"input": {"username": username, "email": email, "password": PASSWORD}},
        },
        headers={"x-forwarded-for": client},
    )
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["data"]["signUp"]
    return payload


async def test_sign_ups_are_limited_per_address_taken_names_included(
    settings: Settings, clean: Resources
) -> None:
    """Every well-formed attempt counts, EMAIL_TAKEN ones too (probing which emails are
    registered goes no faster than signing up); malformed ones cost nothing; another address
    has its own allowance; a refusal changes nothing."""
    async with app_with(settings, clean, sign_ups_per_ip=3) as app:
        created = await sign_up_from(app.http, "first", "first@example.com", client="192.0.2.1")
        assert created["userErrors"] == []
        malformed = await sign_up_from(app.http, "bad name!", "x@example.com", client="192.0.2.1")
        assert [e["code"] for e in malformed["userErrors"]] == ["INVALID_INPUT"]
        taken = await sign_up_from(app.http, "second", "first@example.com", client="192.0.2.1")
        assert [e["code"] for e in taken["userErrors"]] == ["EMAIL_TAKEN"]
        taken = await sign_up_from(app.http, "first", "third@example.com", client="192.0.2.1")
        assert [e["code"] for e in taken["userErrors"]] == ["USERNAME_TAKEN"]

        before = await snapshot(clean)
        for email in ("first@example.com", "fresh@example.com"):
            refused = await sign_up_from(app.http, "fresh", email, client="192.0.2.1")
            assert refused == {
                "accessToken": None,
                "viewer": None,
                "userErrors": [
                    {
                        "code": "RATE_LIMITED",
                        "field": None,
                        "message": "Too many sign-ups: try again in 60 minutes.",
                    }
                ],
            }
        assert await snapshot(clean) == before

        elsewhere = await sign_up_from(app.http, "fresh", "fresh@example.com", client="192.0.2.2")
        assert elsewhere["viewer"] == {"username": "fresh"}
