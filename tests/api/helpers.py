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
