"""viewer.sessions, endSession and endOtherSessions through the real app: a session's device
and approximate address, and an ended session's tokens and sockets stopping at once."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import PASSWORD, refresh, sign_up, snapshot
from tests.api.test_websocket import close_by_server, signed_in_socket, viewer_over
from tests.conftest import LiveApp

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
SESSIONS = (
    """{ viewer { sessions { id device approximateAddress createdAt lastUsedAt current } } }"""
)
END_SESSION = """mutation M($id: ID!) {
  endSession(input: {sessionId: $id}) { endedSessionId userErrors { code field } } }"""
END_OTHERS = """mutation {
  endOtherSessions(input: {}) { endedSessionCount userErrors { code field } } }"""
LOG_IN = """mutation M($input: LogInInput!) {
  logIn(input: $input) { accessToken refreshToken userErrors { code field } } }"""


async def call(
    live: LiveApp,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    user_agent: str | None = None,
) -> dict[str, Any]:
    """POST as a client with this User-Agent; the decoded body."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if user_agent:
        headers["user-agent"] = user_agent
    response = await live.http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def log_in_from(live: LiveApp, username: str, user_agent: str) -> dict[str, Any]:
    body = await call(
        live,
        LOG_IN,
        {"input": {"usernameOrEmail": username, "password": PASSWORD}},
        user_agent=user_agent,
    )
    payload: dict[str, Any] = body["data"]["logIn"]
    assert payload["userErrors"] == []
    return payload


async def sessions_of(live: LiveApp, token: str) -> list[dict[str, Any]]:
    body = await call(live, SESSIONS, token=token)
    assert "errors" not in body, body
    listed: list[dict[str, Any]] = body["data"]["viewer"]["sessions"]
    return listed


def refused_token(body: dict[str, Any]) -> bool:
    return [e["extensions"]["code"] for e in body.get("errors", [])] == ["UNAUTHENTICATED"]


async def test_a_second_session_is_listed_with_its_device_and_ended_with_its_socket(
    live: LiveApp,
) -> None:
    await sign_up(live, "sofia")
    laptop = await log_in_from(live, "sofia", CHROME_ON_WINDOWS)
    phone = await log_in_from(live, "sofia", SAFARI_ON_IPHONE)

    listed = await sessions_of(live, laptop["accessToken"])
    assert len(listed) == 3  # the sign-up's session, the laptop, the phone
    by_device = {session["device"]: session for session in listed}
    assert set(by_device) == {
        f"python-httpx/{httpx.__version__}",
        "Chrome 124 on Windows 10",
        "Mobile Safari 17 on iOS 17.4 (Apple iPhone)",
    }
    assert [s["current"] for s in listed].count(True) == 1
    assert by_device["Chrome 124 on Windows 10"]["current"] is True
    assert {s["approximateAddress"] for s in listed} == {"127.0.0.0/24"}
    phone_session = by_device["Mobile Safari 17 on iOS 17.4 (Apple iPhone)"]
    assert phone_session["lastUsedAt"] == phone_session["createdAt"]
    phone_id = phone_session["id"]

    socket = await signed_in_socket(live, phone["accessToken"])
    try:
        ended = await call(live, END_SESSION, {"id": phone_id}, token=laptop["accessToken"])
        assert ended == {"data": {"endSession": {"endedSessionId": phone_id, "userErrors": []}}}
        assert await close_by_server(socket) == (4403, "session ended")
    finally:
        await socket.close()

    assert refused_token(await call(live, SESSIONS, token=phone["accessToken"]))
    assert (await refresh(live, phone["refreshToken"]))["userErrors"] == [
        {"code": "INVALID_CREDENTIALS", "field": None}
    ]
    remaining = await sessions_of(live, laptop["accessToken"])
    assert phone_id not in {s["id"] for s in remaining}
    assert len(remaining) == 2
    # Ended already: NOT_FOUND, as for any id that is not a live session of the viewer.
    again = await call(live, END_SESSION, {"id": phone_id}, token=laptop["accessToken"])
    assert again["data"]["endSession"]["userErrors"] == [
        {"code": "NOT_FOUND", "field": ["input", "sessionId"]}
    ]


async def test_refreshing_moves_last_used_at_and_keeps_only_the_network(live: LiveApp) -> None:
    signed_up = await sign_up(live, "rafa")
    (before,) = await sessions_of(live, signed_up["accessToken"])
    refreshed = await refresh(live, signed_up["refreshToken"])
    assert refreshed["userErrors"] == []
    (after,) = await sessions_of(live, refreshed["accessToken"])
    assert after["id"] == before["id"]
    assert after["createdAt"] == before["createdAt"]
    assert after["lastUsedAt"] > before["lastUsedAt"]
    # The full client address is stored nowhere: only its /24.
    rows = await live.resources.db.fetch("SELECT * FROM sessions")
    assert [str(row["approximate_address"]) for row in rows] == ["127.0.0.0/24"]
    assert all("127.0.0.1" not in repr(tuple(row)) for row in rows)


async def test_end_other_sessions_ends_every_one_but_the_current(live: LiveApp) -> None:
    first = await sign_up(live, "olga")
    second = await log_in_from(live, "olga", CHROME_ON_WINDOWS)
    third = await log_in_from(live, "olga", SAFARI_ON_IPHONE)
    socket = await signed_in_socket(live, third["accessToken"])
    try:
        done = await call(live, END_OTHERS, token=first["accessToken"])
        assert done == {"data": {"endOtherSessions": {"endedSessionCount": 2, "userErrors": []}}}
        assert await close_by_server(socket) == (4403, "session ended")
    finally:
        await socket.close()
    for other in (second, third):
        assert refused_token(await call(live, SESSIONS, token=other["accessToken"]))
        assert (await refresh(live, other["refreshToken"]))["userErrors"] != []
    (only,) = await sessions_of(live, first["accessToken"])
    assert only["current"] is True


async def test_nobody_else_can_see_or_end_a_users_sessions(live: LiveApp) -> None:
    owner = await sign_up(live, "owen")
    intruder = await sign_up(live, "ivan")
    (owner_session,) = await sessions_of(live, owner["accessToken"])
    socket = await signed_in_socket(live, owner["accessToken"])
    try:
        before = await snapshot(live.resources)
        for session_id in (owner_session["id"], "not-a-session-id"):
            answer = await call(
                live, END_SESSION, {"id": session_id}, token=intruder["accessToken"]
            )
            assert answer == {
                "data": {
                    "endSession": {
                        "endedSessionId": None,
                        "userErrors": [{"code": "NOT_FOUND", "field": ["input", "sessionId"]}],
                    }
                }
            }
        assert await snapshot(live.resources) == before
        # Another user's sessions are not shown, nor whether two-factor is on.
        seen = await call(
            live,
            '{ user(username: "owen") { sessions { id } twoFactorEnabled } }',
            token=intruder["accessToken"],
        )
        assert seen == {"data": {"user": {"sessions": None, "twoFactorEnabled": None}}}
        # The owner's socket is still open and serves operations.
        assert await viewer_over(socket) == {
            "id": "q",
            "type": "next",
            "payload": {"data": {"viewer": {"username": "owen"}}},
        }
    finally:
        await socket.close()
    assert len(await sessions_of(live, owner["accessToken"])) == 1
