"""The follow graph over HTTP: follow/unfollow payloads, lists, flags, nodes, batched SQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from services import follows
from services.auth import Viewer
from tests.api.helpers import sign_up
from tests.conftest import LiveApp
from tests.factories import make_user, viewer_of

FOLLOW = """
mutation Follow($id: ID!) {
  followUser(input: {userId: $id}) {
    user { username followerCount viewerIsFollowing followsViewer }
    viewer { username followingCount }
    userErrors { code field message }
  }
}
"""
UNFOLLOW = FOLLOW.replace("followUser(", "unfollowUser(").replace("Follow($id", "Unfollow($id")


async def test_follow_and_unfollow_through_the_api(live: LiveApp) -> None:
    alice = await sign_up(live, "alice")
    bob = await sign_up(live, "bob")
    token = alice["accessToken"]
    followed = await live.graphql(FOLLOW, {"id": bob["viewer"]["id"]}, token=token)
    expected = {
        "user": {
            "username": "bob",
            "followerCount": 1,
            "viewerIsFollowing": True,
            "followsViewer": False,
        },
        "viewer": {"username": "alice", "followingCount": 1},
        "userErrors": [],
    }
    assert followed == {"data": {"followUser": expected}}
    again = await live.graphql(FOLLOW, {"id": bob["viewer"]["id"]}, token=token)
    assert again == {"data": {"followUser": expected}}

    lists = await live.graphql(
        """query { user(username: "bob") { followers { edges { node { username } } }
                   following { edges { node { username } } } } }""",
        token=token,
    )
    assert lists["data"]["user"] == {
        "followers": {"edges": [{"node": {"username": "alice"}}]},
        "following": {"edges": []},
    }
    unfollowed = await live.graphql(UNFOLLOW, {"id": bob["viewer"]["id"]}, token=token)
    assert unfollowed["data"]["unfollowUser"]["user"] == {
        "username": "bob",
        "followerCount": 0,
        "viewerIsFollowing": False,
        "followsViewer": False,
    }


async def test_follow_refusals_are_user_errors_and_change_nothing(live: LiveApp) -> None:
    alice = await sign_up(live, "alice")
    token = alice["accessToken"]
    missing_user_id = "VXNlcjo5OTk5"  # User:9999
    for target, code in (
        (alice["viewer"]["id"], "INVALID_INPUT"),
        (missing_user_id, "NOT_FOUND"),
        ("not-an-id", "NOT_FOUND"),
    ):
        body = await live.graphql(FOLLOW, {"id": target}, token=token)
        payload = body["data"]["followUser"]
        assert payload["user"] is None
        assert payload["viewer"] is None
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
            (code, ["input", "userId"])
        ]
    assert await live.resources.db.fetchval("SELECT count(*) FROM follows") == 0
    viewer = await live.graphql("{ viewer { followingCount } }", token=token)
    assert viewer["data"]["viewer"] == {"followingCount": 0}


async def test_nodes_resolve_global_ids(live: LiveApp) -> None:
    alice = await sign_up(live, "alice")
    bob = await sign_up(live, "bob")
    ids = [alice["viewer"]["id"], "bm9wZQ", bob["viewer"]["id"], "VXNlcjo5OTk5"]
    body = await live.graphql(
        """query N($ids: [ID!]!, $one: ID!) {
             node(id: $one) { id ... on User { username } }
             nodes(ids: $ids) { ... on User { username } }
           }""",
        {"ids": ids, "one": bob["viewer"]["id"]},
    )
    assert body == {
        "data": {
            "node": {"id": bob["viewer"]["id"], "username": "bob"},
            "nodes": [{"username": "alice"}, None, {"username": "bob"}, None],
        }
    }


FOLLOWERS_PAGE = """
query Followers($first: Int!, $after: String) {
  user(username: "star") {
    followerCount
    followers(first: $first, after: $after) {
      edges {
        cursor
        node { id username followerCount followingCount viewerIsFollowing followsViewer }
      }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""


async def _statements_for(live: LiveApp, token: str, first: int) -> tuple[int, dict[str, Any]]:
    counter = live.resources.sql_statements
    before = counter.count
    body = await live.graphql(FOLLOWERS_PAGE, {"first": first}, token=token)
    return counter.count - before, body


async def test_listing_50_followers_costs_the_same_statements_as_5(live: LiveApp) -> None:
    db = live.resources.db
    star = await make_user(db, "star")
    fans = [await make_user(db, f"fan{i:02d}") for i in range(60)]
    await asyncio.gather(
        *(follows.follow_user(live.resources.social, viewer_of(fan), star.id) for fan in fans)
    )
    viewer = await sign_up(live, "viewer")
    token = viewer["accessToken"]
    # The viewer follows a few fans, and a few fans follow the viewer.
    viewer_id = await db.fetchval("SELECT id FROM users WHERE username = 'viewer'")
    for fan in fans[::7]:
        await follows.follow_user(live.resources.social, viewer_of(fan), viewer_id)
    for fan in fans[::5]:
        await follows.follow_user(live.resources.social, Viewer(viewer_id, uuid.uuid4()), fan.id)

    small, small_body = await _statements_for(live, token, 5)
    large, large_body = await _statements_for(live, token, 50)
    # The user; how the viewer stands with them (the visibility rule's facts: blocks, follow);
    # one page of followers with their rows; who of them the viewer follows; who of them follows
    # the viewer. Each a single statement whatever the page size.
    assert small == large == 5
    edges = large_body["data"]["user"]["followers"]["edges"]
    assert len(edges) == 50
    assert large_body["data"]["user"]["followers"]["pageInfo"]["hasNextPage"] is True
    followed_by_viewer = {f"fan{i:02d}" for i in range(0, 60, 5)}
    following_viewer = {f"fan{i:02d}" for i in range(0, 60, 7)}
    for edge in edges:
        node = edge["node"]
        assert node["viewerIsFollowing"] is (node["username"] in followed_by_viewer)
        assert node["followsViewer"] is (node["username"] in following_viewer)
        assert node["followingCount"] == 1 + (node["username"] in following_viewer)
    assert small_body["data"]["user"]["followers"]["edges"] == edges[:5]
