"""Accounts over real HTTP: sign up, log in, refresh, log out, viewer, profile, auth errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.api.helpers import LOG_IN, PASSWORD, REFRESH, SIGN_UP, sign_up
from tests.conftest import LiveApp

VIEWER = "{ viewer { id username fullName bio } }"


async def test_sign_up_then_viewer(live: LiveApp) -> None:
    payload = await sign_up(live, "Alice", fullName="Alice Liddell")
    assert payload["viewer"]["username"] == "alice"
    expires = datetime.fromisoformat(payload["accessTokenExpiresAt"])
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)
    body = await live.graphql(VIEWER, token=payload["accessToken"])
    assert body == {
        "data": {
            "viewer": {
                "id": payload["viewer"]["id"],
                "username": "alice",
                "fullName": "Alice Liddell",
                "bio": None,
            }
        }
    }


async def test_sign_up_errors_are_user_errors_and_create_nothing(live: LiveApp) -> None:
    await sign_up(live, "alice")
    body = await live.graphql(
        SIGN_UP,
        {"input": {"username": "ALICE", "email": "bad", "password": "short"}},
    )
    assert body["data"]["signUp"] == {
        "accessToken": None,
        "refreshToken": None,
        "accessTokenExpiresAt": None,
        "viewer": None,
        "userErrors": [
            {
                "code": "INVALID_INPUT",
                "field": ["input", "email"],
                "message": body["data"]["signUp"]["userErrors"][0]["message"],
            },
            {
                "code": "INVALID_INPUT",
                "field": ["input", "password"],
                "message": "Password must be 8 to 256 characters.",
            },
        ],
    }
    taken = await live.graphql(
        SIGN_UP,
        {"input": {"username": "ALICE", "email": "alice2@example.com", "password": PASSWORD}},
    )
    assert taken["data"]["signUp"]["userErrors"] == [
        {
            "code": "USERNAME_TAKEN",
            "field": ["input", "username"],
            "message": "This username is taken.",
        }
    ]
    assert await live.resources.db.fetchval("SELECT count(*) FROM users") == 1


async def test_log_in_refresh_and_log_out(live: LiveApp) -> None:
    await sign_up(live, "bob")
    bad = await live.graphql(LOG_IN, {"input": {"usernameOrEmail": "bob", "password": "nope nope"}})
    assert bad["data"]["logIn"]["userErrors"] == [{"code": "INVALID_CREDENTIALS", "field": None}]
    good = await live.graphql(
        LOG_IN, {"input": {"usernameOrEmail": "BOB@example.com", "password": PASSWORD}}
    )
    session = good["data"]["logIn"]
    assert session["viewer"] == {"username": "bob"}
    refreshed = (await live.graphql(REFRESH, {"token": session["refreshToken"]}))["data"][
        "refreshSession"
    ]
    assert refreshed["userErrors"] == []
    assert refreshed["refreshToken"] != session["refreshToken"]

    out = await live.graphql(
        "mutation { logOut(input: {}) { ok userErrors { code } } }", token=refreshed["accessToken"]
    )
    assert out == {"data": {"logOut": {"ok": True, "userErrors": []}}}
    after = await live.graphql(VIEWER, token=refreshed["accessToken"])
    assert after["data"] == {"viewer": None}
    assert after["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    again = await live.graphql(REFRESH, {"token": refreshed["refreshToken"]})
    assert again["data"]["refreshSession"]["userErrors"] == [
        {"code": "INVALID_CREDENTIALS", "field": None}
    ]


async def test_viewer_only_fields_need_a_valid_token(live: LiveApp) -> None:
    anonymous = await live.graphql(VIEWER)
    assert anonymous == {"data": {"viewer": None}}
    for mutation in (
        "mutation { logOut(input: {}) { ok } }",
        'mutation { updateProfile(input: {bio: "x"}) { user { bio } } }',
        'mutation { followUser(input: {userId: "VXNlcjox"}) { user { id } } }',
    ):
        body = await live.graphql(mutation)
        assert body["data"] is None
        assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    payload = await sign_up(live, "carol")
    token = payload["accessToken"]
    expired, _ = live.resources.access_tokens.issue(
        1, uuid.uuid4(), now=datetime.now(UTC) - timedelta(hours=1)
    )
    for bad_token, reason in (
        (expired, "Not signed in: access token expired."),
        (token[:-3] + "abc", "Not signed in: invalid access token."),
        ("garbage", "Not signed in: invalid access token."),
    ):
        body = await live.graphql(VIEWER, token=bad_token)
        assert body["errors"][0]["message"] == reason
        assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_update_profile(live: LiveApp) -> None:
    token = (await sign_up(live, "dora"))["accessToken"]
    update = """
    mutation Update($input: UpdateProfileInput!) {
      updateProfile(input: $input) { user { fullName bio } userErrors { code field } }
    }
    """
    done = await live.graphql(update, {"input": {"fullName": "Dora", "bio": "Maps"}}, token=token)
    assert done["data"]["updateProfile"] == {
        "user": {"fullName": "Dora", "bio": "Maps"},
        "userErrors": [],
    }
    refused = await live.graphql(update, {"input": {"bio": "x" * 151}}, token=token)
    assert refused["data"]["updateProfile"] == {
        "user": None,
        "userErrors": [{"code": "INVALID_INPUT", "field": ["input", "bio"]}],
    }
    body = await live.graphql(VIEWER, token=token)
    assert body["data"]["viewer"]["bio"] == "Maps"
