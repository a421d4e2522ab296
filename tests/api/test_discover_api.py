"""GraphQL: explore, hashtag pages and search, executed on the schema with exact data.

Until `DiscoverQueries` is merged into the root Query (resolvers/query.py), the schema under test
is built here from the root Query plus DiscoverQueries (the same types and resolvers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import strawberry
from strawberry.tools import merge_types

from resolvers.context import Context
from resolvers.discover import DiscoverQueries
from resolvers.query import Query
from resources import Resources
from schema.global_ids import encode_global_id
from services import discover
from tests.discover_factories import make_published_post
from tests.factories import make_user, viewer_of

if hasattr(Query, "explore"):
    schema = strawberry.Schema(query=Query)
else:
    schema = strawberry.Schema(query=merge_types("Query", (Query, DiscoverQueries)))


async def run(
    resources: Resources, document: str, variables: dict[str, Any] | None = None, **context: Any
) -> dict[str, Any]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(resources=resources, **context)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


HASHTAG = """
query ($name: String!, $order: HashtagPostOrder!, $after: String) {
  hashtag(name: $name) {
    id name postCount
    posts(first: 2, order: $order, after: $after) {
      edges { node { id caption hashtags author { username } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


def ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def gid(post_id: int) -> str:
    return encode_global_id("Post", post_id)


async def test_hashtag_pages(clean: Resources) -> None:
    author = await make_user(clean.db, "author")
    now = datetime.now(UTC)
    made = []
    for hours, likes in [(1, 0), (2, 9), (3, 4)]:
        post = await make_published_post(
            clean.db,
            author.id,
            "#Sunset time",
            published_at=now - timedelta(hours=hours),
            likes=likes,
        )
        await discover.on_post_published(clean.db, clean.redis, post)
        made.append(post)
    data = await run(clean, HASHTAG, {"name": "#SUNSET", "order": "TOP"})
    tag = data["hashtag"]
    assert (tag["name"], tag["postCount"]) == ("sunset", 3)
    assert tag["id"] == encode_global_id("Hashtag", 1)
    assert ids(tag["posts"]) == [gid(made[1].id), gid(made[2].id)]
    assert tag["posts"]["edges"][0]["node"]["hashtags"] == ["sunset"]
    assert tag["posts"]["edges"][0]["node"]["author"] == {"username": "author"}
    after = tag["posts"]["pageInfo"]["endCursor"]
    rest = await run(clean, HASHTAG, {"name": "sunset", "order": "TOP", "after": after})
    assert ids(rest["hashtag"]["posts"]) == [gid(made[0].id)]
    assert rest["hashtag"]["posts"]["pageInfo"]["hasNextPage"] is False
    recent = await run(clean, HASHTAG, {"name": "sunset", "order": "RECENT"})
    assert ids(recent["hashtag"]["posts"]) == [gid(made[0].id), gid(made[1].id)]
    assert (await run(clean, HASHTAG, {"name": "nothing", "order": "TOP"}))["hashtag"] is None


SEARCH = """
query ($query: String!) {
  search(query: $query, first: 5) {
    users { username fullName }
    hashtags { name postCount }
    posts(first: 5) { edges { node { id caption } } pageInfo { hasNextPage } }
  }
}
"""


async def test_search(clean: Resources) -> None:
    sam = await make_user(clean.db, "sam", full_name="Sam Sunny")
    post = await make_published_post(clean.db, sam.id, "Sunny day at the lake #sunny")
    await discover.on_post_published(clean.db, clean.redis, post)
    data = await run(clean, SEARCH, {"query": "Sunny"})
    assert data["search"] == {
        "users": [],
        "hashtags": [{"name": "sunny", "postCount": 1}],
        "posts": {
            "edges": [{"node": {"id": gid(post.id), "caption": "Sunny day at the lake #sunny"}}],
            "pageInfo": {"hasNextPage": False},
        },
    }
    data = await run(clean, SEARCH, {"query": "sam s"})
    assert data["search"]["users"] == [{"username": "sam", "fullName": "Sam Sunny"}]
    empty = await run(clean, SEARCH, {"query": "%%% ***"})
    assert empty["search"] == {
        "users": [],
        "hashtags": [],
        "posts": {"edges": [], "pageInfo": {"hasNextPage": False}},
    }


EXPLORE = """
query ($after: String) {
  explore(first: 2, after: $after) {
    edges { node { id author { username } likeCount } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.mark.parametrize("signed_in", [False, True])
async def test_explore(clean: Resources, signed_in: bool) -> None:
    viewer = await make_user(clean.db, "viewer")
    friend = await make_user(clean.db, "friend")
    await clean.db.execute(
        "INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)", viewer.id, friend.id
    )
    strangers = [await make_user(clean.db, f"stranger{i}") for i in range(3)]
    hot = await make_published_post(clean.db, strangers[0].id, likes=30)
    warm = await make_published_post(clean.db, strangers[1].id, likes=20)
    cool = await make_published_post(clean.db, strangers[2].id, likes=1)
    friendly = await make_published_post(clean.db, friend.id, likes=25)
    context = {"viewer": viewer_of(viewer)} if signed_in else {}
    seen: list[str] = []
    after = None
    while True:
        data = (await run(clean, EXPLORE, {"after": after}, **context))["explore"]
        seen += ids(data)
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    expected = [hot, friendly, warm, cool] if not signed_in else [hot, warm, cool]
    assert seen == [gid(post.id) for post in expected]
