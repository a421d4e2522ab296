"""GraphQL documents and helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

from resources import Resources
from storage import redis_keys
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
  refreshSession(input: {refreshToken: $token}) { accessToken refreshToken
    userErrors { code field } }
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


Snapshot = tuple[dict[str, list[str]], dict[bytes, bytes | None]]


async def snapshot(resources: Resources, *, with_rate_limits: bool = True) -> Snapshot:
    """Every row of every table, and every Redis key with its serialized value (DUMP)."""
    tables = await resources.db.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename NOT LIKE '\\_yoyo%' AND tablename <> 'yoyo_lock' ORDER BY tablename"
    )
    rows = {}
    for table in tables:
        name = table["tablename"]
        rows[name] = sorted(
            repr(tuple(row)) for row in await resources.db.fetch(f'SELECT * FROM "{name}"')
        )
    # Every request is charged query-cost points by design (the budget is not state a mutation
    # changes): left out.
    budgets = redis_keys.query_budget("").partition("{")[0].encode()
    keys = sorted(key for key in await resources.redis.keys("*") if not key.startswith(budgets))
    if not with_rate_limits:
        keys = [key for key in keys if not key.startswith(redis_keys.RATE_LIMIT_PREFIX.encode())]
    return rows, {key: await resources.redis.dump(key) for key in keys}
