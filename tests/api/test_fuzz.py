"""Fuzzing the real app over HTTP: operations generated from the schema by hypothesis-graphql
(valid queries, valid mutations by a signed-in user, and invalid operations), variables of the
wrong types, and malformed bodies.

Every answer must come within a time limit (no hang), never be a 5xx, be JSON with `data` or
`errors`, and never carry an INTERNAL_SERVER_ERROR (an unexpected exception, masked for the
client: as much a bug as a 500).

Reproducible: in the suite every run first replays the failures saved under
tests/hypothesis-examples/, then draws the same examples (tests/hypothesis_profiles.py: profile
`suite`, a fixed seed per test); hypothesis prints the failing example, and `print_blob` the blob
to replay it with `@reproduce_failure`; the database starts from the same seed data
(`fuzz_world`). Run time is bounded by `max_examples`. `python3 dev.py fuzz --minutes N`
explores: the same tests, round after round with fresh seeds, saving every failure it finds
under tests/hypothesis-examples/ (commit those files with the fix: the suite replays them).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from schema.build import build_schema
from schema.global_ids import encode_global_id
from tests.api.helpers import sign_up
from tests.conftest import LiveApp
from tests.factories import make_media

SDL = build_schema().as_str()
CUSTOM_SCALARS = {
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(
        lambda moment: nodes.String(moment.isoformat())
    )
}
REQUEST_TIMEOUT_SECONDS = 10.0

FUZZ = settings(
    deadline=None,  # a shared 2-core box: the per-request timeout below is the hang check
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def post(
    http: httpx.AsyncClient,
    *,
    json_body: Any = None,
    content: bytes | None = None,
    token: str | None = None,
    content_type: str = "application/json",
) -> httpx.Response:
    headers = {"content-type": content_type}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = (
        http.post("/graphql", json=json_body, headers=headers)
        if content is None
        else http.post("/graphql", content=content, headers=headers)
    )
    return await asyncio.wait_for(request, REQUEST_TIMEOUT_SECONDS)


def check_answer(response: httpx.Response) -> dict[str, Any]:
    """No 5xx; JSON with data or errors; no masked unexpected error."""
    assert response.status_code < 500, response.text
    body = response.json()
    assert isinstance(body, dict), body
    assert "data" in body or "errors" in body, body
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code != "INTERNAL_SERVER_ERROR", body
    return body


@pytest.fixture
async def fuzz_world(live: LiveApp) -> tuple[LiveApp, str]:
    """A user with a token, a second user, a READY media item, a published post: generated ids
    rarely hit them, but fields that list things have something to list."""
    payload = await sign_up(live, "fuzzer")
    await sign_up(live, "other")
    token = payload["accessToken"]
    author_token = (await sign_up(live, "author"))["accessToken"]
    author_id = await live.resources.db.fetchval("SELECT id FROM users WHERE username = 'author'")
    media_id = await make_media(live.resources.db, author_id)
    post = await live.graphql(
        "mutation P($m: ID!) {"
        ' createPost(input: {media: [{mediaId: $m}], caption: "#fuzz @fuzzer"}) {'
        " post { id } userErrors { code } } }",
        {"m": encode_global_id("Media", media_id)},
        token=author_token,
    )
    assert "data" in post
    return live, token


@settings(FUZZ, max_examples=100)
@given(query=queries(SDL, custom_scalars=CUSTOM_SCALARS, allow_x00=False))
async def test_generated_queries(fuzz_world: tuple[LiveApp, str], query: str) -> None:
    live, token = fuzz_world
    check_answer(await post(live.http, json_body={"query": query}, token=token))
    check_answer(await post(live.http, json_body={"query": query}))


# logOut would end the session the other examples need (and it takes no argument anyway).
MUTATIONS_BUT_LOG_OUT = sorted(
    set(build_schema()._schema.mutation_type.fields) - {"logOut"}  # type: ignore[union-attr]
)


@settings(FUZZ, max_examples=70)
@given(
    mutation=mutations(
        SDL,
        fields=MUTATIONS_BUT_LOG_OUT,
        custom_scalars=CUSTOM_SCALARS,
        allow_x00=False,
    )
)
async def test_generated_mutations(fuzz_world: tuple[LiveApp, str], mutation: str) -> None:
    live, token = fuzz_world
    check_answer(await post(live.http, json_body={"query": mutation}, token=token))


@settings(FUZZ, max_examples=50)
@given(query=queries(SDL, mode=Mode.NEGATIVE, custom_scalars=CUSTOM_SCALARS))
async def test_invalid_operations_are_refused_cleanly(
    fuzz_world: tuple[LiveApp, str], query: str
) -> None:
    live, token = fuzz_world
    body = check_answer(await post(live.http, json_body={"query": query}, token=token))
    assert body.get("errors"), body


OPERATIONS_WITH_VARIABLES = [
    "query Q($v: String!) { user(username: $v) { id username } }",
    "query Q($v: ID!) { node(id: $v) { id } }",
    "query Q($v: [ID!]!) { nodes(ids: $v) { id } }",
    "query Q($v: Int!) { feed(first: $v) { edges { node { id } } } }",
    "query Q($v: String) { explore(after: $v) { pageInfo { hasNextPage } } }",
    "query Q($v: FeedOrder!) { feed(order: $v) { edges { cursor } } }",
    "query Q($v: String!) { search(query: $v) { users { edges { node { id } } } } }",
    "mutation M($v: CreateUploadInput!) { createUpload(input: $v) { userErrors { code } } }",
    "mutation M($v: CreatePostInput!) { createPost(input: $v) { userErrors { code } } }",
    "mutation M($v: LogInInput!) { logIn(input: $v) { userErrors { code } } }",
    "mutation M($v: ID) { markNotificationsRead(input: {upTo: $v}) { unreadNotificationCount } }",
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(FUZZ, max_examples=80)
@given(
    operation=st.sampled_from(OPERATIONS_WITH_VARIABLES),
    value=JSON_VALUES,
    variables_shape=st.sampled_from(["value", "raw"]),
)
async def test_variables_of_any_type(
    fuzz_world: tuple[LiveApp, str], operation: str, value: Any, variables_shape: str
) -> None:
    live, token = fuzz_world
    variables = {"v": value} if variables_shape == "value" else value
    check_answer(
        await post(live.http, json_body={"query": operation, "variables": variables}, token=token)
    )


@settings(FUZZ, max_examples=80)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        st.dictionaries(
            st.sampled_from(["query", "variables", "operationName", "extensions"]),
            JSON_VALUES,
            max_size=4,
        ).map(lambda value: json.dumps(value).encode()),
    ),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/graphql-response+json",
            "text/plain",
            "multipart/form-data",
        ]
    ),
)
async def test_malformed_bodies(
    fuzz_world: tuple[LiveApp, str], body: bytes, content_type: str
) -> None:
    live, _ = fuzz_world
    response = await post(live.http, content=body, content_type=content_type)
    assert response.status_code < 500, response.text
    if response.headers.get("content-type", "").startswith("application/"):
        check_answer(response)


@pytest.mark.parametrize("body", [b"null", b"1", b'"query"', b"true"])
async def test_a_json_body_that_is_not_an_object_is_a_400(live: LiveApp, body: bytes) -> None:
    response = await post(live.http, content=body)
    assert response.status_code == 400
    check_answer(response)
