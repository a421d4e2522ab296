"""Email verification, password reset and change, email change: through the API, with account
mail sent by the real worker job through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from settings import Settings
from tests.api.helpers import PASSWORD, sign_up, snapshot
from tests.conftest import LiveApp, run_worker_until_idle
from tests.mail_server import Inbox, Received, smtp_server

VIEWER = "{ viewer { username email emailVerified } }"
VERIFY = """mutation M($token: String!) {
  verifyEmail(input: {token: $token}) { ok userErrors { code field } } }"""
REQUEST_RESET = """mutation M($email: String!) {
  requestPasswordReset(input: {email: $email}) { ok userErrors { code field } } }"""
RESET = """mutation M($token: String!, $password: String!) {
  resetPassword(input: {token: $token, newPassword: $password}) {
    ok userErrors { code field } } }"""
CHANGE_PASSWORD = """mutation M($current: String!, $new: String!) {
  changePassword(input: {currentPassword: $current, newPassword: $new}) {
    ok userErrors { code field } } }"""
CHANGE_EMAIL = """mutation M($email: String!, $password: String!) {
  changeEmail(input: {newEmail: $email, password: $password}) { ok userErrors { code field } } }"""
LOG_IN = """mutation M($name: String!, $password: String!) {
  logIn(input: {usernameOrEmail: $name, password: $password}) {
    accessToken viewer { username } userErrors { code } } }"""
USER = """query U($name: String!) { user(username: $name) { username email emailVerified } }"""

INVALID_TOKEN = [{"code": "INVALID_CREDENTIALS", "field": ["input", "token"]}]
TOKEN = re.compile(r"token=([A-Za-z0-9_-]{43})")


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


async def deliver(settings: Settings, inbox: Inbox) -> None:
    """Run the queued jobs with a worker whose mail goes to the loopback SMTP server."""
    await run_worker_until_idle(settings.model_copy(update={"smtp_url": inbox.url}))


def token_in(message: Received) -> str:
    match = TOKEN.search(message.body("plain"))
    assert match is not None, message.body("plain")
    assert f"token={match.group(1)}" in message.body("html")
    return match.group(1)


async def test_sign_up_sends_a_verification_link_that_works_once(
    live: LiveApp, settings: Settings, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    signed_up = await sign_up(live, "newcomer")
    token = signed_up["accessToken"]
    assert await live.graphql(VIEWER, token=token) == {
        "data": {
            "viewer": {
                "username": "newcomer",
                "email": "newcomer@example.com",
                "emailVerified": False,
            }
        }
    }
    with caplog.at_level(logging.DEBUG):
        await deliver(settings, inbox)
    (message,) = inbox.messages
    assert message.recipients == ["newcomer@example.com"]
    assert message.sender == "no-reply@shutter.localhost"
    assert message.subject == "Confirm your email address"
    assert message.message["From"] == settings.email_from
    link_token = token_in(message)
    assert f"{settings.public_base_url}/verify-email?token={link_token}" in message.body("plain")
    assert "Hello @newcomer," in message.body("plain")
    # Neither the address nor the token reached a log line (but the test server's own).
    logged = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("mail.")
    )
    assert "newcomer@example.com" not in logged
    assert link_token not in logged

    # Someone else never sees the address nor whether it is verified.
    other = await sign_up(live, "other")
    assert await live.graphql(USER, {"name": "newcomer"}, token=other["accessToken"]) == {
        "data": {"user": {"username": "newcomer", "email": None, "emailVerified": None}}
    }

    assert await live.graphql(VERIFY, {"token": link_token}) == {
        "data": {"verifyEmail": {"ok": True, "userErrors": []}}
    }
    assert (await live.graphql(VIEWER, token=token))["data"]["viewer"]["emailVerified"] is True

    before = await snapshot(live.resources)
    again = await live.graphql(VERIFY, {"token": link_token})
    assert again == {"data": {"verifyEmail": {"ok": False, "userErrors": INVALID_TOKEN}}}
    assert await snapshot(live.resources) == before


async def test_an_expired_or_unknown_verification_token_changes_nothing(
    live: LiveApp, settings: Settings, inbox: Inbox
) -> None:
    signed_up = await sign_up(live, "late")
    await deliver(settings, inbox)
    link_token = token_in(inbox.messages[0])
    await live.resources.db.execute("UPDATE account_tokens SET expires_at = now() - interval '1s'")
    before = await snapshot(live.resources)
    for attempt in (link_token, "x" * 43, ""):
        refused = await live.graphql(VERIFY, {"token": attempt})
        assert refused == {"data": {"verifyEmail": {"ok": False, "userErrors": INVALID_TOKEN}}}
    assert await snapshot(live.resources) == before
    viewer = await live.graphql(VIEWER, token=signed_up["accessToken"])
    assert viewer["data"]["viewer"]["emailVerified"] is False


async def test_password_reset_answers_alike_for_unknown_addresses_and_ends_every_session(
    live: LiveApp, settings: Settings, inbox: Inbox
) -> None:
    first = await sign_up(live, "forgetful")
    second = (await live.graphql(LOG_IN, {"name": "forgetful", "password": PASSWORD}))["data"]
    await deliver(settings, inbox)
    inbox.messages.clear()

    known = await live.graphql(REQUEST_RESET, {"email": " Forgetful@Example.com "})
    unknown = await live.graphql(REQUEST_RESET, {"email": "nobody@example.com"})
    expected = {"data": {"requestPasswordReset": {"ok": True, "userErrors": []}}}
    assert known == expected
    assert unknown == expected
    await deliver(settings, inbox)
    (message,) = inbox.messages  # none for the unknown address
    assert message.recipients == ["forgetful@example.com"]
    assert message.subject == "Reset your password"
    assert "for 1 hour" in message.body("plain")
    reset_token = token_in(message)
    assert f"/reset-password?token={reset_token}" in message.body("plain")

    too_short = await live.graphql(RESET, {"token": reset_token, "password": "short"})
    assert too_short["data"]["resetPassword"] == {
        "ok": False,
        "userErrors": [{"code": "INVALID_INPUT", "field": ["input", "newPassword"]}],
    }
    done = await live.graphql(RESET, {"token": reset_token, "password": "a brand new secret"})
    assert done == {"data": {"resetPassword": {"ok": True, "userErrors": []}}}
    for session in (first, second["logIn"]):
        ended = await live.graphql(VIEWER, token=session["accessToken"])
        assert ended["data"] == {"viewer": None}
        assert [error["extensions"]["code"] for error in ended["errors"]] == ["UNAUTHENTICATED"]
    old = await live.graphql(LOG_IN, {"name": "forgetful", "password": PASSWORD})
    assert old["data"]["logIn"]["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]
    new = await live.graphql(LOG_IN, {"name": "forgetful", "password": "a brand new secret"})
    assert new["data"]["logIn"]["viewer"] == {"username": "forgetful"}
    # The link proved the address.
    viewer = await live.graphql(VIEWER, token=new["data"]["logIn"]["accessToken"])
    assert viewer["data"]["viewer"]["emailVerified"] is True

    before = await snapshot(live.resources)
    reused = await live.graphql(RESET, {"token": reset_token, "password": "yet another secret"})
    assert reused["data"]["resetPassword"] == {"ok": False, "userErrors": INVALID_TOKEN}
    assert await snapshot(live.resources) == before


async def test_an_expired_reset_link_changes_nothing(
    live: LiveApp, settings: Settings, inbox: Inbox
) -> None:
    signed_up = await sign_up(live, "slow")
    await live.graphql(REQUEST_RESET, {"email": "slow@example.com"})
    await deliver(settings, inbox)
    reset_token = token_in(inbox.to("slow@example.com")[-1])
    await live.resources.db.execute(
        "UPDATE account_tokens SET expires_at = now() - interval '1s'"
        " WHERE purpose = 'RESET_PASSWORD'"
    )
    before = await snapshot(live.resources)
    refused = await live.graphql(RESET, {"token": reset_token, "password": "a brand new secret"})
    assert refused["data"]["resetPassword"] == {"ok": False, "userErrors": INVALID_TOKEN}
    assert await snapshot(live.resources) == before
    still = await live.graphql(VIEWER, token=signed_up["accessToken"])
    assert still["data"]["viewer"]["username"] == "slow"


async def test_reset_requests_are_limited_per_address_whether_or_not_it_has_an_account(
    live: LiveApp, settings: Settings
) -> None:
    await sign_up(live, "target")
    limited = {
        "data": {
            "requestPasswordReset": {
                "ok": False,
                "userErrors": [{"code": "RATE_LIMITED", "field": None}],
            }
        }
    }
    for address in ("target@example.com", "ghost@example.com"):
        for _ in range(settings.password_resets_per_address):
            answer = await live.graphql(REQUEST_RESET, {"email": address})
            assert answer["data"]["requestPasswordReset"]["ok"] is True
        before = await snapshot(live.resources)
        assert await live.graphql(REQUEST_RESET, {"email": address}) == limited
        assert await snapshot(live.resources) == before


async def test_changing_the_password_needs_the_current_one_and_ends_the_other_sessions(
    live: LiveApp, settings: Settings
) -> None:
    current = await sign_up(live, "mover")
    other = (await live.graphql(LOG_IN, {"name": "mover", "password": PASSWORD}))["data"]["logIn"]
    token = current["accessToken"]

    before = await snapshot(live.resources, with_rate_limits=False)
    wrong = await live.graphql(
        CHANGE_PASSWORD, {"current": "not my password", "new": "a brand new secret"}, token=token
    )
    assert wrong["data"]["changePassword"] == {
        "ok": False,
        "userErrors": [{"code": "INVALID_CREDENTIALS", "field": ["input", "currentPassword"]}],
    }
    assert await snapshot(live.resources, with_rate_limits=False) == before

    done = await live.graphql(
        CHANGE_PASSWORD, {"current": PASSWORD, "new": "a brand new secret"}, token=token
    )
    assert done == {"data": {"changePassword": {"ok": True, "userErrors": []}}}
    assert (await live.graphql(VIEWER, token=token))["data"]["viewer"]["username"] == "mover"
    ended = await live.graphql(VIEWER, token=other["accessToken"])
    assert ended["data"] == {"viewer": None}
    assert [error["extensions"]["code"] for error in ended["errors"]] == ["UNAUTHENTICATED"]
    new = await live.graphql(LOG_IN, {"name": "mover", "password": "a brand new secret"})
    assert new["data"]["logIn"]["viewer"] == {"username": "mover"}


async def test_changing_the_email_switches_only_once_confirmed_and_tells_the_old_address(
    live: LiveApp, settings: Settings, inbox: Inbox
) -> None:
    signed_up = await sign_up(live, "nomad")
    await sign_up(live, "neighbour")
    token = signed_up["accessToken"]
    await deliver(settings, inbox)
    inbox.messages.clear()

    before = await snapshot(live.resources, with_rate_limits=False)
    for variables, expected_errors in (
        (
            {"email": "new@example.org", "password": "wrong password"},
            [{"code": "INVALID_CREDENTIALS", "field": ["input", "password"]}],
        ),
        (
            {"email": "neighbour@example.com", "password": PASSWORD},
            [{"code": "EMAIL_TAKEN", "field": ["input", "newEmail"]}],
        ),
        (
            {"email": "not an address", "password": PASSWORD},
            [{"code": "INVALID_INPUT", "field": ["input", "newEmail"]}],
        ),
    ):
        refused: dict[str, Any] = await live.graphql(CHANGE_EMAIL, variables, token=token)
        assert refused["data"]["changeEmail"] == {"ok": False, "userErrors": expected_errors}
    assert await snapshot(live.resources, with_rate_limits=False) == before

    asked = await live.graphql(
        CHANGE_EMAIL, {"email": "New@Example.org", "password": PASSWORD}, token=token
    )
    assert asked == {"data": {"changeEmail": {"ok": True, "userErrors": []}}}
    await deliver(settings, inbox)
    (confirmation,) = inbox.messages
    assert confirmation.recipients == ["new@example.org"]
    assert confirmation.subject == "Confirm your new email address"
    viewer = await live.graphql(VIEWER, token=token)
    assert viewer["data"]["viewer"]["email"] == "nomad@example.com"  # not switched yet

    assert await live.graphql(VERIFY, {"token": token_in(confirmation)}) == {
        "data": {"verifyEmail": {"ok": True, "userErrors": []}}
    }
    assert await live.graphql(VIEWER, token=token) == {
        "data": {"viewer": {"username": "nomad", "email": "new@example.org", "emailVerified": True}}
    }
    await deliver(settings, inbox)
    (notice,) = inbox.messages[1:]
    assert notice.recipients == ["nomad@example.com"]
    assert notice.subject == "The email address of your account was changed"
    assert "n***@example.org" in notice.body("plain")
    assert "new@example.org" not in notice.body("plain")
    by_new = await live.graphql(LOG_IN, {"name": "new@example.org", "password": PASSWORD})
    assert by_new["data"]["logIn"]["viewer"] == {"username": "nomad"}
