"""Text PostgreSQL cannot store (NUL, lone surrogates) is refused as bad input, for every string
input, before anything runs: a clear error naming where it was, nothing changed, nothing echoed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schema.global_ids import encode_global_id
from tests.api.helpers import sign_up, snapshot
from tests.conftest import LiveApp
from tests.factories import make_media, make_user

GRAPHQL_RESPONSE = "application/graphql-response+json"
NUL = "a\x00b"

SIGN_UP = """mutation M($input: SignUpInput!) { signUp(input: $input) { accessToken } }"""
LOG_IN = """mutation M($input: LogInInput!) { logIn(input: $input) { accessToken } }"""
UPDATE_PROFILE = """mutation M($input: UpdateProfileInput!) {
  updateProfile(input: $input) { user { bio } } }"""
ADD_COMMENT = (
    """mutation M($input: AddCommentInput!) { addComment(input: $input) { comment { id } } }"""
)
CREATE_POST = (
    """mutation M($input: CreatePostInput!) { createPost(input: $input) { post { id } } }"""
)
CREATE_UPLOAD = """mutation M($input: CreateUploadInput!) {
  createUpload(input: $input) { uploadUrl } }"""


async def post(live: LiveApp, body: dict[str, Any], token: str | None) -> tuple[int, Any]:
    headers = {"accept": GRAPHQL_RESPONSE, "content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    # json.dumps escapes NUL as \u0000, exactly as any JSON client sends it.
    response = await live.http.post("/graphql", content=json.dumps(body), headers=headers)
    return response.status_code, response.json()


async def assert_refused(
    live: LiveApp,
    query: str,
    variables: dict[str, Any],
    field: list[str | int],
    *,
    token: str | None = None,
) -> None:
    before = await snapshot(live.resources)
    status, body = await post(live, {"query": query, "variables": variables}, token)
    assert status == 400
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert "NUL (U+0000)" in error["message"]
    assert "\x00" not in json.dumps(body, ensure_ascii=False)
    assert "data" not in body
    assert await snapshot(live.resources) == before


@pytest.fixture
async def token(live: LiveApp) -> str:
    payload = await sign_up(live, "writer")
    return str(payload["accessToken"])


async def test_account_inputs_refuse_nul(live: LiveApp, token: str) -> None:
    good = {"username": "newbie", "email": "newbie@example.com", "password": "long enough pw"}
    for name in ("username", "email", "password"):
        await assert_refused(live, SIGN_UP, {"input": good | {name: NUL}}, ["input", name])
    await assert_refused(live, SIGN_UP, {"input": good | {"fullName": NUL}}, ["input", "fullName"])
    login = {"usernameOrEmail": "writer", "password": NUL}
    await assert_refused(live, LOG_IN, {"input": login}, ["input", "password"])
    await assert_refused(
        live, UPDATE_PROFILE, {"input": {"bio": NUL}}, ["input", "bio"], token=token
    )


async def test_content_inputs_refuse_nul(live: LiveApp, token: str) -> None:
    writer = await live.resources.db.fetchval("SELECT id FROM users WHERE username = 'writer'")
    media = str(encode_global_id("Media", await make_media(live.resources.db, writer)))
    await assert_refused(
        live,
        CREATE_POST,
        {"input": {"media": [{"mediaId": media}], "caption": NUL}},
        ["input", "caption"],
        token=token,
    )
    await assert_refused(
        live,
        CREATE_POST,
        {
            "input": {
                "media": [{"mediaId": media, "altText": "fine"}, {"mediaId": media, "altText": NUL}]
            }
        },
        ["input", "media", 1, "altText"],
        token=token,
    )
    upload = {"filename": NUL, "contentType": "image/jpeg", "byteSize": 10}
    await assert_refused(live, CREATE_UPLOAD, {"input": upload}, ["input", "filename"], token=token)
    other = await make_user(live.resources.db, "other")
    assert other.id
    post_id = str(encode_global_id("Post", 1))
    await assert_refused(
        live,
        ADD_COMMENT,
        {"input": {"postId": post_id, "text": NUL}},
        ["input", "text"],
        token=token,
    )


async def test_literals_and_query_arguments_refuse_nul(live: LiveApp, token: str) -> None:
    literal = 'mutation { updateProfile(input: {bio: "x\\u0000y"}) { user { bio } } }'
    before = await snapshot(live.resources)
    status, body = await post(live, {"query": literal}, token)
    assert status == 400
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": ["input", "bio"]}
    assert error["locations"] == [{"line": 1, "column": 39}]
    assert await snapshot(live.resources) == before

    for query in (
        '{ user(username: "a\\u0000") { id } }',
        '{ search(query: "\\u0000") { users { id } } }',
    ):
        status, body = await post(live, {"query": query}, None)
        assert status == 400
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    status, body = await post(
        live,
        {"query": "query Q($u: String!) { user(username: $u) { id } }", "variables": {"u": NUL}},
        None,
    )
    assert (status, body["errors"][0]["extensions"]) == (
        400,
        {"code": "BAD_USER_INPUT", "field": ["u"]},
    )


async def test_text_without_nul_still_works(live: LiveApp, token: str) -> None:
    """The check refuses only what cannot be stored: other control-free text goes through."""
    status, body = await post(
        live,
        {"query": UPDATE_PROFILE, "variables": {"input": {"bio": "tab\tand é and 🙂"}}},
        token,
    )
    assert (status, body) == (
        200,
        {"data": {"updateProfile": {"user": {"bio": "tab\tand é and 🙂"}}}},
    )


async def test_names_comments_and_captions_refuse_bidi_overrides_and_invisible_text(
    live: LiveApp, token: str
) -> None:
    """Each refusal is a userError at the field, with nothing changed."""
    writer = await live.resources.db.fetchval("SELECT id FROM users WHERE username = 'writer'")
    media = str(encode_global_id("Media", await make_media(live.resources.db, writer)))
    published = await live.graphql(
        "mutation M($input: CreatePostInput!) { createPost(input: $input) { post { id } } }",
        {"input": {"media": [{"mediaId": media}], "caption": "ok"}},
        token=token,
    )
    post_id = published["data"]["createPost"]["post"]["id"]
    other_media = str(encode_global_id("Media", await make_media(live.resources.db, writer)))
    cases = [
        (
            "mutation M($input: UpdateProfileInput!) { updateProfile(input: $input) {"
            " user { fullName } userErrors { code field message } } }",
            {"input": {"fullName": "Admin\u202e"}},
            ["input", "fullName"],
            "Text cannot contain bidirectional control characters.",
        ),
        (
            "mutation M($input: AddCommentInput!) { addComment(input: $input) {"
            " comment { id } userErrors { code field message } } }",
            {"input": {"postId": post_id, "text": "\u200b\u3164\u200b"}},
            ["input", "text"],
            "Text must contain visible characters.",
        ),
        (
            "mutation M($input: CreatePostInput!) { createPost(input: $input) {"
            " post { id } userErrors { code field message } } }",
            {"input": {"media": [{"mediaId": other_media}], "caption": "\u2066evil\u2069"}},
            ["input", "caption"],
            "Text cannot contain bidirectional control characters.",
        ),
        (
            "mutation M($input: CreatePostInput!) { createPost(input: $input) {"
            " post { id } userErrors { code field message } } }",
            {"input": {"media": [{"mediaId": other_media, "altText": "\u2800"}]}},
            ["input", "media", "0", "altText"],
            "Text must contain visible characters.",
        ),
    ]
    for query, variables, field, message in cases:
        before = await snapshot(live.resources)
        body = await live.graphql(query, variables, token=token)
        (payload,) = body["data"].values()
        assert payload["userErrors"] == [
            {"code": "INVALID_INPUT", "field": field, "message": message}
        ]
        assert await snapshot(live.resources) == before
