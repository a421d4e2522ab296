"""The HTTP surface: GET and POST, request errors as 4xx, masked errors, probes, GraphiQL."""

from __future__ import annotations

import logging

import pytest

from tests.api.helpers import sign_up
from tests.conftest import LiveApp


async def test_get_query(live: LiveApp) -> None:
    await sign_up(live, "erin")
    response = await live.http.get(
        "/graphql",
        params={
            "query": "query U($n: String!) { user(username: $n) { username } }",
            "variables": '{"n": "ERIN"}',
        },
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"user": {"username": "erin"}}}


async def test_mutations_are_refused_over_get(live: LiveApp) -> None:
    response = await live.http.get(
        "/graphql", params={"query": "mutation { logOut(input: {}) { ok } }"}
    )
    assert response.status_code == 405  # GraphQL over HTTP: "Method Not Allowed"
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert await live.resources.db.fetchval("SELECT count(*) FROM sessions") == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Unable to parse request body as JSON"),
        (b'{"variables": {}}', "No GraphQL query found in the request"),
    ],
)
async def test_malformed_requests_get_a_400_with_a_clear_message(
    live: LiveApp, body: bytes, message: str
) -> None:
    response = await live.http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ viewer { ", "Syntax Error: Expected Name, found <EOF>."),
        ("{ viewer { nope } }", "Cannot query field 'nope' on type 'User'."),
        ("{ user(username: 3) { id } }", "String cannot represent a non string value: 3"),
    ],
)
async def test_unparsable_or_invalid_documents_get_a_400(
    live: LiveApp, query: str, message: str
) -> None:
    # A 400 under application/graphql-response+json; application/json clients get the same
    # body with a 200 (GraphQL over HTTP; tests/api/test_graphql_over_http.py).
    response = await live.http.post(
        "/graphql", json={"query": query}, headers={"accept": "application/graphql-response+json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert [error["message"] for error in body["errors"]] == [message]


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    live: LiveApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from services import accounts

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(accounts, "fetch_user_by_username", broken)
    with caplog.at_level(logging.ERROR, logger="shutter.graphql"):
        response = await live.http.post(
            "/graphql", json={"query": '{ user(username: "x") { id } }'}
        )
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32
    assert response.json() == {
        "data": {"user": None},
        "errors": [
            {
                "message": "Internal server error.",
                "locations": [{"line": 1, "column": 3}],
                "path": ["user"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            }
        ],
    }
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    [record] = [r for r in caplog.records if r.name == "shutter.graphql"]
    assert request_id in record.getMessage()
    assert "hunter2" in str(record.exc_info[1] if record.exc_info else None)


async def test_a_well_formed_incoming_request_id_is_kept_and_a_bad_one_replaced(
    live: LiveApp,
) -> None:
    kept = await live.http.get("/healthz", headers={"x-request-id": "edge-1234abcd"})
    assert kept.headers["x-request-id"] == "edge-1234abcd"
    replaced = await live.http.get("/healthz", headers={"x-request-id": "bad id <script>"})
    assert replaced.headers["x-request-id"] != "bad id <script>"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_health_and_readiness(live: LiveApp) -> None:
    assert (await live.http.get("/healthz")).json() == {"status": "ok"}
    ready = await live.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "postgres": "ok", "redis": "ok"}


async def test_graphiql_page_and_assets_are_served_by_the_app(live: LiveApp) -> None:
    page = await live.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/graphiql/static/graphiql.min.js" in page.text
    asset = await live.http.get("/graphiql/static/graphiql.min.js")
    assert asset.status_code == 200
    assert len(asset.content) > 100_000
