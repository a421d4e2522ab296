"""The home feed over HTTP: what it holds, both orders, and SQL per request constant in size."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from typing import Any

from dataloaders import Loaders
from execution.executor import PlainFieldExecution
from resolvers.context import Context
from schema.global_ids import encode_global_id
from schema.posts import Post
from storage.pg.posts import PostRecord
from tests.api.helpers import sign_up
from tests.conftest import LiveApp
from tests.feed_factories import insert_post

FEED = """
query Feed($first: Int!, $order: FeedOrder!) {
  feed(first: $first, order: $order) {
    edges { node { id author { username } likeCount viewerHasLiked commentCount
                   media { image(minWidth: 640) { url } } } }
    pageInfo { hasNextPage }
  }
}
"""


async def user_id(live: LiveApp, username: str) -> int:
    value = await live.resources.db.fetchval("SELECT id FROM users WHERE username = $1", username)
    assert isinstance(value, int)
    return value


async def test_feed_holds_followed_and_own_posts_in_both_orders(live: LiveApp) -> None:
    viewer = await sign_up(live, "viewer")
    await sign_up(live, "friend")
    await sign_up(live, "stranger")
    token = viewer["accessToken"]
    friend_id = await user_id(live, "friend")
    follow = "mutation F($id: ID!) { followUser(input: {userId: $id}) { userErrors { code } } }"
    await live.graphql(follow, {"id": encode_global_id("User", friend_id)}, token=token)
    now = datetime.now(UTC)
    own = await insert_post(
        live.resources.db, await user_id(live, "viewer"), now - timedelta(minutes=3)
    )
    friends = [
        await insert_post(live.resources.db, friend_id, now - timedelta(minutes=m)) for m in (5, 1)
    ]
    await insert_post(live.resources.db, await user_id(live, "stranger"), now)

    body = await live.graphql(FEED, {"first": 10, "order": "CHRONOLOGICAL"}, token=token)
    edges = body["data"]["feed"]["edges"]
    expected = [encode_global_id("Post", post_id) for post_id in (friends[1], own, friends[0])]
    assert [edge["node"]["id"] for edge in edges] == expected
    assert [edge["node"]["author"]["username"] for edge in edges] == ["friend", "viewer", "friend"]
    assert body["data"]["feed"]["pageInfo"] == {"hasNextPage": False}
    ranked = await live.graphql(FEED, {"first": 10, "order": "RANKED"}, token=token)
    assert sorted(edge["node"]["id"] for edge in ranked["data"]["feed"]["edges"]) == sorted(
        expected
    )

    anonymous = await live.graphql(FEED, {"first": 10, "order": "RANKED"})
    assert anonymous["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def viewer_with_own_posts(live: LiveApp, count: int) -> str:
    """A new user "viewer" with `count` published posts, one a minute back from now; their token."""
    viewer = await sign_up(live, "viewer")
    viewer_id = await user_id(live, "viewer")
    now = datetime.now(UTC)
    for minutes in range(count):
        await insert_post(live.resources.db, viewer_id, now - timedelta(minutes=minutes))
    token: str = viewer["accessToken"]
    return token


async def test_sql_statements_per_feed_request_do_not_grow_with_the_page(live: LiveApp) -> None:
    token = await viewer_with_own_posts(live, 30)
    counter = live.resources.sql_statements
    # Warm: the first read rebuilds the cached feed and recounts likes into Redis; asyncpg
    # reads the row type of `media` once per pooled connection (its own statements).
    for _ in range(3):
        await live.graphql(FEED, {"first": 20, "order": "CHRONOLOGICAL"}, token=token)
    statements = []
    for first in (5, 20):
        before = counter.count
        body = await live.graphql(FEED, {"first": first, "order": "CHRONOLOGICAL"}, token=token)
        assert len(body["data"]["feed"]["edges"]) == first
        statements.append(counter.count - before)
    # One: the feed window's candidate check, which also reads the page's posts with authors,
    # media and the viewer's likes (like counts come from Redis).
    assert statements == [1, 1]


async def test_feed_like_counts_are_live_and_exact_after_redis_loses_them(live: LiveApp) -> None:
    viewer = await sign_up(live, "viewer")
    fan = await sign_up(live, "fan")
    token = viewer["accessToken"]
    db, redis = live.resources.db, live.resources.redis
    post_id = await insert_post(db, await user_id(live, "viewer"), datetime.now(UTC), likes=0)
    like = "mutation L($id: ID!) { likePost(input: {postId: $id}) { userErrors { code } } }"
    node_id = encode_global_id("Post", post_id)

    async def like_counts() -> list[int]:
        body = await live.graphql(FEED, {"first": 5, "order": "CHRONOLOGICAL"}, token=token)
        return [edge["node"]["likeCount"] for edge in body["data"]["feed"]["edges"]]

    assert await like_counts() == [0]  # no counter yet: recounted, and the counter filled
    for token_of in (viewer, fan):
        await live.graphql(like, {"id": node_id}, token=token_of["accessToken"])
    assert await like_counts() == [2]  # the live counter (the table's snapshot still says 0)
    assert await db.fetchval("SELECT like_count FROM posts WHERE id = $1", post_id) == 0
    await redis.flushdb()
    assert await like_counts() == [2]  # recounted from the likes table


async def test_a_feed_request_leaves_nothing_to_the_cycle_collector(live: LiveApp) -> None:
    """A request's objects are freed when it ends, none left in reference cycles: the cyclic
    garbage collector's young collections stop the event loop (execution/executor.py)."""
    token = await viewer_with_own_posts(live, 5)
    await live.graphql(FEED, {"first": 5, "order": "CHRONOLOGICAL"}, token=token)  # warm
    body, left = await left_in_cycles(live, {"first": 5, "order": "CHRONOLOGICAL"}, token)
    assert len(body["data"]["feed"]["edges"]) == 5
    assert left == []


async def test_a_refused_request_leaves_nothing_to_the_cycle_collector(live: LiveApp) -> None:
    """As above, for a document refused before execution (its error's traceback held the
    operation's frames: schema.build.Schema.process_errors)."""
    token = await viewer_with_own_posts(live, 1)
    body, left = await left_in_cycles(live, {"first": 500, "order": "CHRONOLOGICAL"}, token)
    assert "data" not in body  # refused before execution
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert left == []


async def left_in_cycles(
    live: LiveApp, variables: dict[str, Any], token: str
) -> tuple[dict[str, Any], list[str]]:
    """The body of one FEED request, and the types of its objects that only the cyclic
    garbage collector would have freed."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        body = await live.graphql(FEED, variables, token=token)
        gc.collect()
        left = sorted(
            {type(found).__name__ for found in gc.garbage if isinstance(found, REQUEST_OBJECTS)}
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return body, left


REQUEST_OBJECTS = (PlainFieldExecution, Context, Loaders, Post, PostRecord)
