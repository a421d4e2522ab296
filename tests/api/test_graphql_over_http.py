"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): media types, status codes,
and the `graphql-http` npm package's server audits run against the live app."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.helpers import sign_up
from tests.conftest import LiveApp
from web.graphql_endpoint import response_media_type

AUDIT_DIR = Path(__file__).resolve().parent.parent / "http_audit"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
SUBSCRIPTION = "subscription { notificationReceived { kind actorCount } }"
BOTH = """query Me { viewer { username } }
subscription Live { notificationReceived { kind actorCount } }
"""

EXPECTED_WARNINGS: set[str] = set()
"""Audit ids that may warn, each explained in docs/graphql-over-http.md (none at present)."""


def run_audits(url: str) -> list[dict[str, str | None]]:
    """graphql-http's serverAudits against `url` (installs the pinned packages on first use)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.fail("node and npm are needed for the GraphQL-over-HTTP audits")
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        subprocess.run(
            [npm, "ci", "--prefix", str(AUDIT_DIR), "--no-audit", "--no-fund"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    finished = subprocess.run(
        [node, str(AUDIT_DIR / "audit.mjs"), url],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results: list[dict[str, str | None]] = json.loads(finished.stdout)
    return results


async def test_graphql_http_server_audits_pass(live: LiveApp) -> None:
    import asyncio

    results = await asyncio.to_thread(run_audits, f"{live.base_url}/graphql")
    assert len(results) > 40
    errors = [r for r in results if r["status"] == "error"]
    assert errors == []
    warnings = {str(r["id"]): r["reason"] for r in results if r["status"] == "warn"}
    assert set(warnings) == EXPECTED_WARNINGS, warnings


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", "application/json"),
        (f"*/*, {GRAPHQL_RESPONSE_JSON};q=0", "application/json"),
        ("text/html", "application/json"),
    ],
)
def test_response_media_type_follows_accept(accept: str | None, expected: str) -> None:
    assert response_media_type(accept) == expected


async def test_valid_request_answers_in_the_preferred_media_type(live: LiveApp) -> None:
    for accept, media_type in [
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        ("application/json", "application/json"),
    ]:
        response = await live.http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"accept": accept}
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == media_type
        assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"query": "{"}, "Syntax Error: Expected Name, found <EOF>."),
        ({"query": "{ zzz }"}, "Cannot query field 'zzz' on type 'Query'."),
        (
            {"query": "query Q($n: String!) { user(username: $n) { id } }", "variables": {}},
            "Variable '$n' has invalid value: Expected a value of non-null type 'String!' to be"
            " provided.",
        ),
    ],
)
async def test_request_errors_are_400_under_graphql_response_json_and_200_under_json(
    live: LiveApp, body: dict[str, object], message: str
) -> None:
    strict = await live.http.post("/graphql", json=body, headers={"accept": GRAPHQL_RESPONSE_JSON})
    legacy = await live.http.post("/graphql", json=body, headers={"accept": "application/json"})
    assert (strict.status_code, legacy.status_code) == (400, 200)
    assert strict.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert legacy.headers["content-type"] == "application/json"
    for response in (strict, legacy):
        errors = response.json()["errors"]
        assert "data" not in response.json()
        assert [error["message"] for error in errors] == [message]


async def test_field_errors_keep_200_and_data_under_both_media_types(live: LiveApp) -> None:
    for accept in (GRAPHQL_RESPONSE_JSON, "application/json"):
        response = await live.http.post(
            "/graphql", json={"query": "{ feed { edges { cursor } } }"}, headers={"accept": accept}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert body["errors"][0]["path"] == ["feed"]


@pytest.mark.parametrize("operation_name", [{"obj": "ect"}, 0, False, ["array"]])
async def test_a_non_string_operation_name_is_a_400(live: LiveApp, operation_name: object) -> None:
    response = await live.http.post(
        "/graphql", json={"query": "{ __typename }", "operationName": operation_name}
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "The GraphQL operation's `operationName` must be a string or null.",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }


@pytest.mark.parametrize(
    ("body", "accept", "media_type"),
    [
        ({"query": SUBSCRIPTION}, "application/json", "application/json"),
        (
            {"query": BOTH, "operationName": "Live"},
            "application/graphql-response+json",
            "application/graphql-response+json",
        ),
        # Neither Apollo's multipart subscriptions nor GraphQL over SSE are served.
        (
            {"query": SUBSCRIPTION},
            'multipart/mixed;subscriptionSpec="1.0", application/json',
            "application/json",
        ),
        ({"query": SUBSCRIPTION}, "text/event-stream", "application/json"),
    ],
)
async def test_a_subscription_over_http_is_refused_naming_the_websocket(
    live: LiveApp, body: dict[str, str], accept: str, media_type: str
) -> None:
    token = (await sign_up(live, "wendy"))["accessToken"]
    response = await live.http.post(
        "/graphql", json=body, headers={"authorization": f"Bearer {token}", "accept": accept}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == media_type
    assert response.json() == {
        "errors": [
            {
                "message": "Subscriptions are served over WebSocket at /graphql "
                "(graphql-transport-ws protocol, the token in connection_init: "
                '{"authorization": "Bearer <token>"}), not over HTTP.',
                "extensions": {"code": "SUBSCRIPTION_OVER_HTTP"},
            }
        ]
    }
    # The query of the same document still runs over HTTP.
    response = await live.http.post(
        "/graphql",
        json={"query": BOTH, "operationName": "Me"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.json() == {"data": {"viewer": {"username": "wendy"}}}
