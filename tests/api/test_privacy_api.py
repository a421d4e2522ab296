"""Private accounts, blocks and mutes over GraphQL (docs/privacy.md): what a viewer sees of a
private profile, and how a block makes two accounts invisible to each other."""

from __future__ import annotations

import uuid
from typing import Any

from schema.global_ids import encode_global_id
from services import follows, safety
from services.auth import Viewer
from tests.api.helpers import sign_up, snapshot
from tests.conftest import LiveApp
from tests.factories import make_media
from tests.feed_factories import at, insert_post

PROFILE = """query P($name: String!) { user(username: $name) {
  username isPrivate followerCount postCount viewerFollowRequested viewerHasBlocked
  posts(first: 5) { totalCount nodes { id } }
  followers(first: 5) { totalCount nodes { username } }
  following(first: 5) { totalCount nodes { username } } } }"""
FOLLOW = """mutation F($id: ID!) { followUser(input: {userId: $id}) {
  status user { username } userErrors { code field } } }"""
APPROVE = """mutation A($id: ID!) { approveFollowRequest(input: {userId: $id}) {
  user { username followingCount } viewer { followerCount } userErrors { code field } } }"""
BLOCK = """mutation B($id: ID!) { blockUser(input: {userId: $id}) {
  user { username viewerHasBlocked } userErrors { code field } } }"""


def gid(type_name: str, record_id: int) -> str:
    return str(encode_global_id(type_name, record_id))


async def account(live: LiveApp, name: str) -> tuple[int, str]:
    payload = await sign_up(live, name)
    user_id = await live.resources.db.fetchval("SELECT id FROM users WHERE username = $1", name)
    return user_id, payload["accessToken"]


async def test_a_private_profile_shows_its_counts_but_not_its_content(live: LiveApp) -> None:
    db = live.resources.db
    owner_id, owner_token = await account(live, "owner")
    fan_id, fan_token = await account(live, "fan")
    friend_id, _ = await account(live, "friend")
    post_id = await insert_post(db, owner_id, at(1))
    await db.execute("UPDATE users SET post_count = 1, is_private = true WHERE id = $1", owner_id)
    await db.execute(
        "INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)", friend_id, owner_id
    )
    await db.execute("UPDATE users SET follower_count = 1 WHERE id = $1", owner_id)
    hidden: dict[str, Any] = {
        "username": "owner",
        "isPrivate": True,
        "followerCount": 1,
        "postCount": 1,
        "viewerFollowRequested": False,
        "viewerHasBlocked": False,
        "posts": {"totalCount": 0, "nodes": []},
        "followers": {"totalCount": 0, "nodes": []},
        "following": {"totalCount": 0, "nodes": []},
    }
    for token in (fan_token, None):
        assert (await live.graphql(PROFILE, {"name": "owner"}, token=token))["data"] == {
            "user": hidden
        }
        post = await live.graphql(
            "query($id: ID!) { post(id: $id) { id } }", {"id": gid("Post", post_id)}, token=token
        )
        assert post["data"] == {"post": None}

    requested = await live.graphql(FOLLOW, {"id": gid("User", owner_id)}, token=fan_token)
    assert requested["data"]["followUser"] == {
        "status": "REQUESTED",
        "user": {"username": "owner"},
        "userErrors": [],
    }
    seen = await live.graphql(PROFILE, {"name": "owner"}, token=fan_token)
    assert seen["data"]["user"]["viewerFollowRequested"] is True
    assert seen["data"]["user"]["posts"] == {"totalCount": 0, "nodes": []}

    approved = await live.graphql(APPROVE, {"id": gid("User", fan_id)}, token=owner_token)
    assert approved["data"]["approveFollowRequest"] == {
        "user": {"username": "fan", "followingCount": 1},
        "viewer": {"followerCount": 2},
        "userErrors": [],
    }
    visible = (await live.graphql(PROFILE, {"name": "owner"}, token=fan_token))["data"]["user"]
    assert visible["posts"] == {"totalCount": 1, "nodes": [{"id": gid("Post", post_id)}]}
    assert visible["followers"] == {
        "totalCount": 2,
        "nodes": [{"username": "fan"}, {"username": "friend"}],
    }


async def test_a_block_makes_both_invisible_to_each_other(live: LiveApp) -> None:
    db = live.resources.db
    ann_id, ann_token = await account(live, "ann")
    ben_id, ben_token = await account(live, "ben")
    ann_post = await insert_post(db, ann_id, at(1))
    await follows.follow_user(live.resources.social, viewer_of_id(ben_id), ann_id)
    blocked = await live.graphql(BLOCK, {"id": gid("User", ben_id)}, token=ann_token)
    assert blocked["data"]["blockUser"] == {
        "user": {"username": "ben", "viewerHasBlocked": True},
        "userErrors": [],
    }
    lookups = """query L($name: String!, $ids: [ID!]!) {
      user(username: $name) { id } nodes(ids: $ids) { id } }"""
    for token, name, user_id in ((ann_token, "ben", ben_id), (ben_token, "ann", ann_id)):
        ids = [gid("User", user_id)] + ([gid("Post", ann_post)] if name == "ann" else [])
        body = await live.graphql(lookups, {"name": name, "ids": ids}, token=token)
        assert body["data"] == {"user": None, "nodes": [None] * len(ids)}
    # The blocked party is told NOT_FOUND, as for no account; nothing changes.
    before = await snapshot(live.resources)
    refused = await live.graphql(FOLLOW, {"id": gid("User", ann_id)}, token=ben_token)
    assert refused["data"]["followUser"] == {
        "status": None,
        "user": None,
        "userErrors": [{"code": "NOT_FOUND", "field": ["input", "userId"]}],
    }
    refused = await live.graphql(FOLLOW, {"id": gid("User", ben_id)}, token=ann_token)
    assert refused["data"]["followUser"]["userErrors"] == [
        {"code": "BLOCKED", "field": ["input", "userId"]}
    ]
    assert await snapshot(live.resources) == before
    mine = await live.graphql(
        "{ viewer { blockedUsers { totalCount nodes { username } } } }", token=ann_token
    )
    assert mine["data"]["viewer"]["blockedUsers"] == {
        "totalCount": 1,
        "nodes": [{"username": "ben"}],
    }
    await safety.unblock_user(live.resources.social, viewer_of_id(ann_id), ben_id)
    back = await live.graphql(lookups, {"name": "ben", "ids": []}, token=ann_token)
    assert back["data"] == {"user": {"id": gid("User", ben_id)}, "nodes": []}


CREATE_POST = """mutation C($input: CreatePostInput!) {
  createPost(input: $input) { post { caption status } userErrors { code field message } } }"""


async def test_a_caption_mentioning_across_a_block(live: LiveApp) -> None:
    db = live.resources.db
    ann_id, ann_token = await account(live, "ann")
    ben_id, _ = await account(live, "ben")
    cat_id, _ = await account(live, "cat")
    dan_id, _ = await account(live, "dan")
    await safety.block_user(live.resources.social, viewer_of_id(ann_id), ben_id)
    await safety.block_user(live.resources.social, viewer_of_id(cat_id), ann_id)

    async def post(caption: str, media_id: int) -> dict[str, Any]:
        variables = {"input": {"media": [{"mediaId": gid("Media", media_id)}], "caption": caption}}
        body = await live.graphql(CREATE_POST, variables, token=ann_token)
        assert "errors" not in body, body
        payload = body["data"]["createPost"]
        assert isinstance(payload, dict)
        return payload

    # Mentioning an account the author blocked: BLOCKED on the caption, nothing created.
    media = [await make_media(db, ann_id) for _ in range(2)]
    before = await snapshot(live.resources)
    refused = await post("look @dan and @ben", media[0])
    assert refused == {
        "post": None,
        "userErrors": [
            {
                "code": "BLOCKED",
                "field": ["input", "caption"],
                "message": "You mention an account you blocked; unblock it first.",
            }
        ],
    }
    assert await snapshot(live.resources) == before
    mentions = "SELECT recipient_id FROM notifications WHERE kind = 'MENTION' ORDER BY id"
    assert await db.fetch(mentions) == []
    # Mentioning an account that blocked the author: plain text, no notification to it (the
    # block is not revealed); others mentioned are notified.
    published = await post("look @cat and @dan", media[1])
    assert published == {
        "post": {"caption": "look @cat and @dan", "status": "PUBLISHED"},
        "userErrors": [],
    }
    assert [row["recipient_id"] for row in await db.fetch(mentions)] == [dan_id]
    assert cat_id not in [row["recipient_id"] for row in await db.fetch(mentions)]


def viewer_of_id(user_id: int) -> Viewer:
    return Viewer(user_id=user_id, session_id=uuid.uuid4())
