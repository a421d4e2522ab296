"""Per-user limits on likes, comments, follows and posts, through the API: with a tiny limit the
next action is refused RATE_LIMITED and changes nothing (every row, every Redis key); repeating
an action that changes nothing (a second like or follow) costs none of the allowance."""

from __future__ import annotations

from typing import Any

from resources import Resources
from schema.global_ids import encode_global_id
from services import posts
from settings import Settings
from tests.api.configured import app_with
from tests.api.helpers import sign_up, snapshot
from tests.conftest import LiveApp
from tests.factories import make_media, make_user, viewer_of

LIKE_POST = """mutation M($id: ID!) {
  likePost(input: {postId: $id}) { post { id likeCount } userErrors { code field message } } }"""
FOLLOW = """mutation M($id: ID!) {
  followUser(input: {userId: $id}) { user { username } userErrors { code field message } } }"""
ADD_COMMENT = """mutation M($input: AddCommentInput!) {
  addComment(input: $input) { comment { text } userErrors { code field message } } }"""
CREATE_POST = """mutation M($input: CreatePostInput!) {
  createPost(input: $input) { post { status } userErrors { code field message } } }"""


def refused(noun: str) -> list[dict[str, Any]]:
    """The RATE_LIMITED error of a full hourly window just filled (the wait is the hour)."""
    message = f"Too many {noun}: try again in 60 minutes."
    return [{"code": "RATE_LIMITED", "field": None, "message": message}]


async def call(app: LiveApp, token: str, document: str, **variables: Any) -> dict[str, Any]:
    """Run a one-mutation document as the token's user; returns that mutation's payload."""
    body = await app.graphql(document, variables, token=token)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert isinstance(payload, dict)
    return payload


async def signed_up(app: LiveApp, username: str) -> tuple[str, int]:
    """A new account's access token and user id."""
    token = (await sign_up(app, username))["accessToken"]
    user_id = await app.resources.db.fetchval("SELECT id FROM users WHERE username = $1", username)
    assert isinstance(user_id, int)
    return token, user_id


async def published_posts(resources: Resources, how_many: int) -> list[str]:
    """Global ids of `how_many` published posts by a new author."""
    author = await make_user(resources.db, "author")
    ids = []
    for _ in range(how_many):
        media_id = await make_media(resources.db, author.id)
        post = await posts.create_post(
            resources.posts, viewer_of(author), media_ids=[media_id], caption=None, alt_texts=[]
        )
        ids.append(str(encode_global_id("Post", post.id)))
    return ids


async def test_likes_beyond_the_limit_are_refused_and_a_repeated_like_is_free(
    settings: Settings, clean: Resources
) -> None:
    async with app_with(settings, clean, rate_limit_likes_per_hour=2) as app:
        token, _ = await signed_up(app, "fan")
        first, second, third = await published_posts(clean, 3)
        liked = await call(app, token, LIKE_POST, id=first)
        assert (liked["post"], liked["userErrors"]) == ({"id": first, "likeCount": 1}, [])
        again = await call(app, token, LIKE_POST, id=first)  # changes nothing: costs nothing
        assert (again["post"], again["userErrors"]) == ({"id": first, "likeCount": 1}, [])
        liked = await call(app, token, LIKE_POST, id=second)
        assert (liked["post"], liked["userErrors"]) == ({"id": second, "likeCount": 1}, [])

        before = await snapshot(clean)
        over = await call(app, token, LIKE_POST, id=third)
        assert over == {"post": None, "userErrors": refused("likes")}
        assert await snapshot(clean) == before


async def test_follows_beyond_the_limit_are_refused_and_a_repeated_follow_is_free(
    settings: Settings, clean: Resources
) -> None:
    async with app_with(settings, clean, rate_limit_follows_per_hour=2) as app:
        token, _ = await signed_up(app, "fan")
        first, second, third = [
            str(encode_global_id("User", (await make_user(clean.db, name)).id))
            for name in ("ann", "ben", "cat")
        ]
        for target, name in ((first, "ann"), (first, "ann"), (second, "ben")):
            followed = await call(app, token, FOLLOW, id=target)
            assert followed == {"user": {"username": name}, "userErrors": []}

        before = await snapshot(clean)
        over = await call(app, token, FOLLOW, id=third)
        assert over == {"user": None, "userErrors": refused("follows")}
        assert await snapshot(clean) == before


async def test_comments_beyond_the_limit_are_refused(settings: Settings, clean: Resources) -> None:
    async with app_with(settings, clean, rate_limit_comments_per_hour=1) as app:
        token, _ = await signed_up(app, "fan")
        (post,) = await published_posts(clean, 1)
        added = await call(app, token, ADD_COMMENT, input={"postId": post, "text": "first"})
        assert added == {"comment": {"text": "first"}, "userErrors": []}

        before = await snapshot(clean)
        over = await call(app, token, ADD_COMMENT, input={"postId": post, "text": "second"})
        assert over == {"comment": None, "userErrors": refused("comments")}
        assert await snapshot(clean) == before


async def test_posts_beyond_the_limit_are_refused(settings: Settings, clean: Resources) -> None:
    async with app_with(settings, clean, rate_limit_posts_per_hour=1) as app:
        token, user_id = await signed_up(app, "poster")
        media = [
            str(encode_global_id("Media", await make_media(clean.db, user_id))) for _ in range(2)
        ]
        created = await call(app, token, CREATE_POST, input={"media": [{"mediaId": media[0]}]})
        assert created == {"post": {"status": "PUBLISHED"}, "userErrors": []}

        before = await snapshot(clean)
        over = await call(app, token, CREATE_POST, input={"media": [{"mediaId": media[1]}]})
        assert over == {"post": None, "userErrors": refused("posts")}
        assert await snapshot(clean) == before
