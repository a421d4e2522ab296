"""Deleting an account through the API, then erasing it on a real worker: afterwards no table,
no Redis key or value and no blob refers to the account, and every other user's counters are
exact (issue #20's "Done when" for leaving)."""

from __future__ import annotations

import pickle
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from resources import Resources
from schema.global_ids import decode_global_id
from services import comments, follows, likes, posts, safety
from services.feed.deps import FeedOrder
from services.feed.page import read_feed
from services.likes import flush_like_counts
from settings import Settings
from storage import jobs
from storage.micros import micros_of
from storage.pg import users as user_store
from tests import media_fixtures
from tests.api.helpers import PASSWORD, sign_up
from tests.api.test_media_api import create_upload
from tests.api.test_profile_pictures_api import SET, uploaded_photo
from tests.conftest import LiveApp, run_worker_until_idle
from tests.factories import make_media, make_user, viewer_of

LEAVER = "leaverzq"
LEAVER_EMAIL = f"{LEAVER}@example.com"
FIRST_ID = 700_000
"""The leaver's id is set far above every other id of the test (posts, media, comments...), so
that finding its digits anywhere means a reference to the account."""

DELETE = """mutation D($password: String!) {
  deleteAccount(input: {password: $password}) { ok eraseAfter userErrors { code field } } }"""
CREATE_POST = """mutation P($input: CreatePostInput!) {
  createPost(input: $input) { post { id status } userErrors { code field } } }"""


async def build_leaver(live: LiveApp, settings: Settings) -> tuple[int, str, list[int]]:
    """The leaver with everything: a carousel with hashtags and a mention, a profile picture,
    an upload in progress, comments and likes on others' posts, follows both ways, a request,
    a block, a mute, notifications both ways, feed entries, rate-limit windows. Returns (id,
    token, media ids)."""
    resources = live.resources
    db = resources.db
    friend = await make_user(db, "friend")
    fan = await make_user(db, "fan")
    secret = await make_user(db, "secret")
    blocked = await make_user(db, "blockedone")
    muted = await make_user(db, "mutedone")
    await db.execute("UPDATE users SET is_private = true WHERE id = $1", secret.id)
    await db.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), $1)", FIRST_ID)
    token = (await sign_up(live, LEAVER))["accessToken"]
    leaver = await user_store.fetch_user_by_username(db, LEAVER)
    assert leaver is not None
    assert leaver.id > FIRST_ID
    me = viewer_of(leaver)
    social = resources.social

    # Media through the real pipeline: a carousel of two photos and a profile picture.
    photos = [await uploaded_photo(live, settings, token, 640, 480) for _ in range(3)]
    created = await live.graphql(
        CREATE_POST,
        {
            "input": {
                "caption": "golden hour #sunset #leaving with @friend",
                "media": [{"mediaId": photos[0]}, {"mediaId": photos[1], "altText": "sky"}],
            }
        },
        token=token,
    )
    assert created["data"]["createPost"]["userErrors"] == []
    picture = await live.graphql(SET, {"id": photos[2]}, token=token)
    assert picture["data"]["setProfilePicture"]["userErrors"] == []
    # An upload in progress: created and PUT, never completed.
    data = media_fixtures.jpeg_with_exif(64, 64)
    upload: Any = await create_upload(live, token, data, "image/jpeg")
    headers = {h["name"]: h["value"] for h in upload["uploadHeaders"]}
    async with httpx.AsyncClient() as client:
        assert (await client.put(upload["uploadUrl"], content=data, headers=headers)).is_success
    media_ids = []
    for global_id in [*photos, upload["media"]["id"]]:
        decoded = decode_global_id(global_id)
        assert decoded is not None
        media_ids.append(decoded[1])
    leaver_post_id = await db.fetchval("SELECT id FROM posts WHERE author_id = $1", leaver.id)

    # The others' posts, and what the leaver does to them (and they to the leaver).
    friend_post = await posts.create_post(
        resources.posts,
        viewer_of(friend),
        media_ids=[await make_media(db, friend.id)],
        caption="#sunset too",
        alt_texts=[],
    )
    fan_post = await posts.create_post(
        resources.posts,
        viewer_of(fan),
        media_ids=[await make_media(db, fan.id)],
        caption=None,
        alt_texts=[],
    )
    for other in (friend, fan):
        await follows.follow_user(social, viewer_of(other), leaver.id)
    await follows.follow_user(social, me, friend.id)
    await follows.follow_user(social, me, secret.id)  # a request
    await safety.block_user(social, me, blocked.id)
    await safety.mute_user(social, me, muted.id)
    for post in (friend_post, fan_post):
        await likes.like_post(social, me, post.id)
        await comments.add_comment(social, me, post_id=post.id, text=f"nice, @{LEAVER} was here")
    await likes.like_post(social, viewer_of(fan), friend_post.id)
    await comments.add_comment(social, viewer_of(fan), post_id=friend_post.id, text="agreed")
    await likes.like_post(social, viewer_of(friend), leaver_post_id)
    await likes.like_post(social, viewer_of(fan), leaver_post_id)
    await comments.add_comment(social, viewer_of(friend), post_id=leaver_post_id, text="wow")
    # Feeds: the followers' and the leaver's own hold the posts.
    for reader in (friend.id, fan.id, leaver.id):
        await read_feed(resources.feed, reader, first=10, after=None, order=FeedOrder.CHRONOLOGICAL)
    await run_worker_until_idle(settings)
    friend_feed = await resources.redis.zrange(f"feed:{{{friend.id}}}", 0, -1)
    assert str(leaver_post_id).encode() in friend_feed
    assert (
        await db.fetchval("SELECT count(*) FROM notifications WHERE recipient_id = $1", leaver.id)
        >= 2
    )
    assert (
        await db.fetchval("SELECT count(*) FROM notification_actors WHERE actor_id = $1", leaver.id)
        >= 3
    )
    return leaver.id, token, media_ids


@pytest.mark.timeout(400)
async def test_an_erased_account_leaves_nothing_behind(live: LiveApp, settings: Settings) -> None:
    resources = live.resources
    user_id, token, media_ids = await build_leaver(live, settings)
    assert media_ids
    assert all(media_id < FIRST_ID for media_id in media_ids)

    # What the ranker logged about the account as a viewer (no foreign keys: the scan below
    # finds these unless the erasure deletes them).
    await resources.db.execute(
        "INSERT INTO ranker_served_pages (served_at, page_id, viewer_id, arm, post_ids,"
        " feature_names, features) VALUES (now(), 'p1', $1, 'formula', '{}', '{}', '{}')",
        user_id,
    )
    await resources.db.execute(
        "INSERT INTO ranker_impressions (served_at, page_id, viewer_id, post_id, position,"
        " visible_ms) VALUES (now(), 'p1', $1, 1, 0, 4000)",
        user_id,
    )

    deleted = await live.graphql(DELETE, {"password": PASSWORD}, token=token)
    assert deleted["data"]["deleteAccount"]["userErrors"] == []
    assert deleted["data"]["deleteAccount"]["ok"] is True
    # The session ended at once.
    refused = await live.graphql("{ viewer { id } }", token=token)
    assert refused["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    # The grace period passes (30 days by default): its deferred job is still queued.
    due = datetime.now(UTC) - timedelta(seconds=1)
    await resources.db.execute("UPDATE users SET erase_after = $2 WHERE id = $1", user_id, due)
    await jobs.enqueue_erase_account(resources.redis, user_id, micros_of(due))
    await run_worker_until_idle(settings)

    assert await resources.db.fetchval("SELECT count(*) FROM users WHERE id = $1", user_id) == 0
    assert await scan_tables(resources, user_id) == []
    assert await scan_redis(resources, user_id) == []
    assert scan_blobs(settings.media_dir, user_id, media_ids) == []
    await assert_counters_exact(resources)
    # The username and the address are free again.
    again = await sign_up(live, LEAVER)
    assert again["viewer"]["username"] == LEAVER


async def scan_tables(resources: Resources, user_id: int) -> list[str]:
    """Every bigint column of every table equal to the id, every text or JSON column holding
    the username or the address."""
    columns = await resources.db.fetch(
        """
        SELECT table_name, column_name, data_type FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_yoyo%'
           AND table_name <> 'yoyo_lock'
           AND data_type IN ('bigint', 'integer', 'text', 'jsonb', 'character varying')
        """
    )
    found = []
    for table, column, data_type in columns:
        if data_type in ("bigint", "integer"):
            where = f'"{column}" = $1::bigint'
            argument: Any = user_id
        else:
            where = f'"{column}"::text ~* $1'
            argument = f"{re.escape(LEAVER)}|{re.escape(LEAVER_EMAIL)}"
        count = await resources.db.fetchval(
            f'SELECT count(*) FROM "{table}" WHERE {where}', argument
        )
        if count:
            found.append(f"{table}.{column}: {count}")
    return found


def _mentions(blob: bytes, user_id: int) -> bool:
    digits = re.compile(rb"(?<![0-9])" + str(user_id).encode() + rb"(?![0-9])")
    return bool(digits.search(blob)) or LEAVER.encode() in blob.lower()


async def scan_redis(resources: Resources, user_id: int) -> list[str]:
    """Every key (SCAN), and every value, member and field, for the id or the username (arq's
    pickled jobs and results are unpickled first: their integers are binary)."""
    redis = resources.redis
    found = []
    async for key in redis.scan_iter(count=1000):
        kind = (await redis.type(key)).decode()
        parts: list[bytes] = [key]
        if kind == "string":
            parts.append(await redis.get(key) or b"")
        elif kind == "hash":
            for field, value in (await redis.hgetall(key)).items():
                parts += [field, value]
        elif kind == "set":
            parts += list(await redis.smembers(key))
        elif kind == "zset":
            parts += await redis.zrange(key, 0, -1)
        elif kind == "list":
            parts += await redis.lrange(key, 0, -1)
        readable = []
        for part in parts:
            readable.append(part)
            if key.startswith(b"arq:") and part.startswith(b"\x80"):
                try:
                    readable.append(repr(pickle.loads(part)).encode())  # noqa: S301 (our own)
                except Exception:  # noqa: S112 (not a pickle: searched as bytes)
                    continue
        if any(_mentions(part, user_id) for part in readable):
            found.append(f"{kind} {key!r}")
    return found


def scan_blobs(root: Path, user_id: int, media_ids: list[int]) -> list[str]:
    """Every object of the blob store under the account's media, avatars or exports."""
    prefixes = [
        *(f"media/{media_id}/" for media_id in media_ids),
        *(f"uploads/{media_id}/" for media_id in media_ids),
        f"media/avatars/{user_id}/",
        f"exports/{user_id}/",
    ]
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or ".tmp" in path.parts:
            continue
        key = path.relative_to(root).as_posix()
        if key.startswith(tuple(prefixes)) or _mentions(key.encode(), user_id):
            found.append(key)
    return found


async def assert_counters_exact(resources: Resources) -> None:
    """Every remaining user's and post's counters equal a recount."""
    db = resources.db
    await flush_like_counts(db, resources.redis)
    wrong_users = await db.fetch(
        """
        SELECT u.username FROM users u
         WHERE follower_count <> (SELECT count(*) FROM follows WHERE followee_id = u.id)
            OR following_count <> (SELECT count(*) FROM follows WHERE follower_id = u.id)
            OR post_count <> (SELECT count(*) FROM posts
                               WHERE author_id = u.id AND status = 'PUBLISHED')
        """
    )
    assert wrong_users == []
    wrong_posts = await db.fetch(
        """
        SELECT p.id FROM posts p
         WHERE like_count <> (SELECT count(*) FROM likes WHERE post_id = p.id)
            OR comment_count <> (SELECT count(*) FROM comments WHERE post_id = p.id)
        """
    )
    assert wrong_posts == []
    rows = await db.fetch(
        "SELECT p.id, (SELECT count(*) FROM likes WHERE post_id = p.id) AS n FROM posts p"
        " ORDER BY p.id"
    )
    live_counts = await likes.like_counts(db, resources.redis, [row["id"] for row in rows])
    assert live_counts == [row["n"] for row in rows]
    assert (
        await db.fetch(
            "SELECT h.name FROM hashtags h"
            " WHERE post_count <> (SELECT count(*) FROM post_hashtags WHERE hashtag_id = h.id)"
        )
        == []
    )
    assert (
        await db.fetch(
            """
            SELECT n.id FROM notifications n
             WHERE actor_count <> (SELECT count(DISTINCT actor_id) FROM notification_actors a
                                    WHERE a.notification_id = n.id)
                OR NOT EXISTS (SELECT 1 FROM notification_actors a
                                WHERE a.notification_id = n.id AND a.actor_id = n.actor_id)
            """
        )
        == []
    )
