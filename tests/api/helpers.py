"""GraphQL documents and helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import LiveApp

PASSWORD = "correct horse battery"

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) {
    accessToken refreshToken accessTokenExpiresAt
    viewer { id username fullName followerCount followingCount }
    userErrors { code field message }
  }
}
"""


async def sign_up(live: LiveApp, username: str, **extra: Any) -> dict[str, Any]:
    """Sign up through the API; returns the payload (asserting success)."""
    variables = {
        "input": {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
        | extra
    }
    body = await live.graphql(SIGN_UP, variables)
    payload: dict[str, Any] = body["data"]["signUp"]
    assert payload["userErrors"] == [], payload
    return payload


LOG_IN = """
mutation LogIn($input: LogInInput!) {
  logIn(input: $input) { accessToken refreshToken viewer { username } userErrors { code field } }
}
"""
REFRESH = """
mutation Refresh($token: String!) {
  refreshSession(refreshToken: $token) { accessToken refreshToken userErrors { code field } }
}
"""


async def log_in(live: LiveApp, username: str) -> dict[str, Any]:
    """A new session of `username` (signed up with PASSWORD); returns the payload."""
    body = await live.graphql(
        LOG_IN, {"input": {"usernameOrEmail": username, "password": PASSWORD}}
    )
    payload: dict[str, Any] = body["data"]["logIn"]
    assert payload["userErrors"] == [], payload
    return payload


async def refresh(live: LiveApp, refresh_token: str) -> dict[str, Any]:
    """The refreshSession payload for `refresh_token`."""
    body = await live.graphql(REFRESH, {"token": refresh_token})
    payload: dict[str, Any] = body["data"]["refreshSession"]
    return payload
