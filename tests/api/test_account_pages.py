"""The pages the account emails link to (web/account_pages.py), followed as a browser would:
opening the link only shows a form; posting it uses the token once."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from settings import Settings
from tests.api.helpers import PASSWORD, sign_up
from tests.api.test_account_email_api import LOG_IN, REQUEST_RESET, VIEWER, deliver, token_in
from tests.conftest import LiveApp
from tests.mail_server import Inbox, smtp_server

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


def hidden_token(page: str) -> str:
    match = re.search(r'name="token" value="([^"]*)"', page)
    assert match is not None, page
    return match.group(1)


async def test_the_verification_link_shows_a_form_and_its_post_confirms_once(
    live: LiveApp, settings: Settings, inbox: Inbox
) -> None:
    access = (await sign_up(live, "newcomer"))["accessToken"]
    await deliver(settings, inbox)
    token = token_in(inbox.messages[0])

    opened = await live.http.get(f"/verify-email?token={token}")
    assert opened.status_code == 200
    assert opened.headers["content-type"] == "text/html; charset=utf-8"
    assert "form-action 'self'" in opened.headers["content-security-policy"]
    assert "script" not in opened.text
    assert hidden_token(opened.text) == token
    unverified = {
        "viewer": {"username": "newcomer", "email": "newcomer@example.com", "emailVerified": False}
    }
    assert (await live.graphql(VIEWER, token=access))["data"] == unverified  # GET used nothing

    confirmed = await live.http.post("/verify-email", content=f"token={token}", headers=FORM)
    assert (confirmed.status_code, "Your email address is confirmed." in confirmed.text) == (
        200,
        True,
    )
    viewer = (await live.graphql(VIEWER, token=access))["data"]["viewer"]
    assert viewer["emailVerified"] is True

    again = await live.http.post("/verify-email", content=f"token={token}", headers=FORM)
    assert again.status_code == 400
    assert "confirmed" not in again.text


async def test_the_reset_link_sets_the_password_once_and_refuses_mismatches(
    live: LiveApp, settings: Settings, inbox: Inbox
) -> None:
    await sign_up(live, "forgetful")
    await live.graphql(REQUEST_RESET, {"email": "forgetful@example.com"})
    await deliver(settings, inbox)
    (message,) = [m for m in inbox.messages if m.subject != "Confirm your email address"]
    token = token_in(message)
    hash_before = await live.resources.db.fetchval(
        "SELECT password_hash FROM users WHERE username = 'forgetful'"
    )

    opened = await live.http.get(f"/reset-password?token={token}")
    assert opened.status_code == 200
    assert 'name="new_password"' in opened.text

    differ = await live.http.post(
        "/reset-password",
        content=f"token={token}&new_password=first+choice+1&again=second+choice",
        headers=FORM,
    )
    assert differ.status_code == 400
    assert "The two passwords differ." in differ.text
    assert hidden_token(differ.text) == token
    assert hash_before == await live.resources.db.fetchval(
        "SELECT password_hash FROM users WHERE username = 'forgetful'"
    )

    body = f"token={token}&new_password=a+brand+new+secret&again=a+brand+new+secret"
    done = await live.http.post("/reset-password", content=body, headers=FORM)
    assert done.status_code == 200
    assert "Your password is changed" in done.text
    logged_in = await live.graphql(LOG_IN, {"name": "forgetful", "password": "a brand new secret"})
    assert logged_in["data"]["logIn"]["viewer"] == {"username": "forgetful"}
    refused = await live.graphql(LOG_IN, {"name": "forgetful", "password": PASSWORD})
    assert refused["data"]["logIn"]["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]

    reused = await live.http.post("/reset-password", content=body, headers=FORM)
    assert reused.status_code == 400
