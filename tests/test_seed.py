"""`shutter seed` at a tiny scale against the test servers: exact counts everywhere, real READY
media, a home feed through the API, refusal on a second run, and every GraphiQL query that
README.md's "Demo data" section shows."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pyvips
import websockets
from arq.connections import RedisSettings
from arq.constants import default_queue_name
from arq.worker import Worker

from media.demo_images import ImageSpec, render_demo_image
from resources import Resources
from services import likes
from services.comments import add_comment
from services.hashtags import parse_hashtags
from services.seed import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    AlreadySeededError,
    DemoPlan,
    plan_demo,
)
from settings import Settings
from storage import redis_keys
from storage.embedded import find_running_valkey, start_valkey
from storage.pg import users as user_store
from tests.conftest import LiveApp
from tests.factories import viewer_of
from tests.waits import until_listening
from workers import drain, worker_options
from workers.seed import run_seed

ROOT = Path(__file__).resolve().parent.parent
USERS, POSTS_PER_USER, SEED = 4, 2, 5
VARIANTS = ["thumb320", "thumb160", "1080", "750", "640", "480"]
LOG_IN = """
mutation LogIn($password: String!) {
  logIn(input: {usernameOrEmail: "demo", password: $password}) { accessToken userErrors { code } }
}
"""
FEED = """
{ feed(first: 50, order: CHRONOLOGICAL) { edges { node {
    caption likeCount commentCount author { username }
    media { status variants { name } image(minWidth: 640) { url width } } } } } }
"""


def test_the_plan_is_reproducible_and_consistent() -> None:
    plan = plan_demo(USERS, POSTS_PER_USER, SEED)
    assert plan == plan_demo(USERS, POSTS_PER_USER, SEED)
    assert plan != plan_demo(USERS, POSTS_PER_USER, SEED + 1)
    assert [user.username for user in plan.users][:2] == [DEMO_USERNAME, "alpine.light"]
    assert len({user.username for user in plan.users}) == USERS
    assert len(plan.posts) == USERS * POSTS_PER_USER
    assert Counter(post.author for post in plan.posts) == dict.fromkeys(range(USERS), 2)
    assert len(set(plan.follows)) == len(plan.follows)
    assert all(follower != followee for follower, followee in plan.follows)
    assert len(set(plan.likes)) == len(plan.likes)
    assert all(plan.posts[post].author != user for user, post in plan.likes)
    assert {follower for follower, _ in plan.follows} == set(range(USERS))
    with pytest.raises(ValueError, match="users"):
        plan_demo(1, 1, SEED)


def test_pictures_are_reproducible_jpegs_that_differ_by_seed() -> None:
    first = render_demo_image(ImageSpec("landscape", 11))
    assert first == render_demo_image(ImageSpec("landscape", 11))
    assert first != render_demo_image(ImageSpec("landscape", 12))
    for style in ("landscape", "shapes", "noise", "card"):
        image = pyvips.Image.new_from_buffer(render_demo_image(ImageSpec(style, 3, "hi")), "")
        assert image.get("vips-loader") == "jpegload_buffer"
        assert image.width >= 1080
        assert image.bands == 3
        assert image.deviate() > 5, f"{style} is a flat picture"


def _variants(row: asyncpg.Record) -> list[dict[str, Any]]:
    value = row["variants"]
    variants: list[dict[str, Any]] = json.loads(value) if isinstance(value, str) else value
    return variants


def _expected_tag_counts(plan: DemoPlan) -> dict[str, int]:
    return dict(Counter(tag for post in plan.posts for tag in parse_hashtags(post.caption)))


async def test_seed_fills_everything_through_the_services(
    live: LiveApp, settings: Settings, tmp_path: Path
) -> None:
    resources = live.resources
    plan = plan_demo(USERS, POSTS_PER_USER, SEED)
    out = io.StringIO()
    report = await run_seed(
        settings, users=USERS, posts_per_user=POSTS_PER_USER, seed=SEED, out=out
    )
    assert (report.users, report.follows, report.posts) == (USERS, len(plan.follows), 8)
    assert (report.images, report.likes, report.comments) == (
        plan.image_count,
        len(plan.likes),
        len(plan.comments),
    )
    assert "pictures [##############################]" in out.getvalue()

    users = await resources.db.fetch(
        "SELECT id, username, bio, follower_count, following_count, post_count FROM users"
        " ORDER BY id"
    )
    assert [row["username"] for row in users] == [user.username for user in plan.users]
    assert [row["bio"] for row in users] == [user.bio for user in plan.users]
    followers = Counter(followee for _, followee in plan.follows)
    following = Counter(follower for follower, _ in plan.follows)
    assert [
        (row["follower_count"], row["following_count"], row["post_count"]) for row in users
    ] == [(followers[index], following[index], POSTS_PER_USER) for index in range(USERS)]
    assert await resources.db.fetchval("SELECT count(*) FROM follows") == len(plan.follows)

    posts = await resources.db.fetch(
        "SELECT id, status, caption, like_count, comment_count FROM posts ORDER BY id"
    )
    assert [(row["status"], row["caption"]) for row in posts] == [
        ("PUBLISHED", post.caption) for post in plan.posts
    ]
    likes_per_post = Counter(post for _, post in plan.likes)
    comments_per_post = Counter(comment.post for comment in plan.comments)
    assert [(row["like_count"], row["comment_count"]) for row in posts] == [
        (likes_per_post[index], comments_per_post[index]) for index in range(len(plan.posts))
    ]
    post_ids = [row["id"] for row in posts]
    assert await likes.like_counts(resources.db, resources.redis, post_ids) == [
        likes_per_post[index] for index in range(len(plan.posts))
    ]
    assert await resources.db.fetchval("SELECT count(*) FROM likes") == len(plan.likes)
    assert await resources.db.fetchval("SELECT count(*) FROM comments") == len(plan.comments)

    media = await resources.db.fetch("SELECT id, status, variants FROM media ORDER BY id")
    assert len(media) == plan.image_count
    assert {row["status"] for row in media} == {"READY"}
    for row in media:
        assert [variant["name"] for variant in _variants(row)] == VARIANTS
    for variant in _variants(media[0]):  # every file of one media item, read back
        path = tmp_path / f"{variant['name']}.jpg"
        await resources.blobs.download(variant["key"], path)
        decoded = pyvips.Image.new_from_file(str(path))
        assert (decoded.width, decoded.height) == (variant["width"], variant["height"])

    tags = await resources.db.fetch("SELECT name, post_count FROM hashtags")
    assert {row["name"]: row["post_count"] for row in tags} == _expected_tag_counts(plan)
    assert await resources.redis.zcard(default_queue_name) == 0, (
        "the seed drains the jobs it queued"
    )

    # The demo user's home feed through the API: followed and own posts, with image URLs.
    token = await _log_in(live)
    body = await live.graphql(FEED, token=token)
    assert "errors" not in body, body
    followed = {followee for follower, followee in plan.follows if follower == 0} | {0}
    expected = Counter(
        (plan.users[post.author].username, post.caption, len(post.images))
        for post in plan.posts
        if post.author in followed
    )
    nodes = [edge["node"] for edge in body["data"]["feed"]["edges"]]
    assert (
        Counter((n["author"]["username"], n["caption"], len(n["media"])) for n in nodes) == expected
    )
    for node in nodes:
        for item in node["media"]:
            assert item["status"] == "READY"
            assert [variant["name"] for variant in item["variants"]] == VARIANTS
            assert item["image"]["width"] == 640
            assert item["image"]["url"].startswith(f"{live.base_url}/media/")
    picture = await live.http.get(nodes[0]["media"][0]["image"]["url"])
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/jpeg"
    assert pyvips.Image.new_from_buffer(picture.content, "").width == 640

    # A second run refuses and changes nothing.
    with pytest.raises(AlreadySeededError):
        await run_seed(settings, users=USERS, posts_per_user=POSTS_PER_USER, seed=SEED, out=out)
    assert await resources.db.fetchval("SELECT count(*) FROM users") == USERS
    assert await resources.db.fetchval("SELECT count(*) FROM media") == plan.image_count


async def _log_in(live: LiveApp) -> str:
    body = await live.graphql(LOG_IN, {"password": DEMO_PASSWORD})
    assert body["data"]["logIn"]["userErrors"] == [], body
    token: str = body["data"]["logIn"]["accessToken"]
    return token


def readme_queries() -> list[str]:
    """The GraphQL documents of README.md's "Demo data" section, in order."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Demo data", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```graphql\n(.*?)```", section, flags=re.DOTALL)


async def test_the_readme_queries_work_on_seeded_data(live: LiveApp, settings: Settings) -> None:
    documents = readme_queries()
    kinds = [document.split(None, 1)[0] for document in documents]
    assert kinds == ["mutation", *["query"] * 6, "subscription"], kinds
    await run_seed(
        settings, users=USERS, posts_per_user=POSTS_PER_USER, seed=SEED, out=io.StringIO()
    )
    log_in, *queries, subscription = documents
    body = await live.graphql(log_in)
    assert body["data"]["logIn"]["userErrors"] == [], body
    token = body["data"]["logIn"]["accessToken"]
    for query in queries:
        body = await live.graphql(query, token=token)
        assert "errors" not in body, (query, body)
        (field,) = [name for name in body["data"] if name != "unreadNotificationCount"]
        if field != "hashtag":  # the tag may not occur in this tiny data set
            assert body["data"][field], (query, body)
    await _receive_live_notification(
        live, resources=live.resources, token=token, query=subscription
    )


async def _receive_live_notification(
    live: LiveApp, *, resources: Resources, token: str, query: str
) -> None:
    """The README's subscription, authenticated the way GraphiQL sends its Headers tab; then
    another account comments on a post of demo's."""
    protocol = websockets.Subprotocol("graphql-transport-ws")
    async with websockets.connect(live.ws_url, subprotocols=[protocol]) as socket:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await socket.send(json.dumps(init))
        assert json.loads(await socket.recv()) == {"type": "connection_ack"}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        other = await user_store.fetch_user_by_username(resources.db, "alpine.light")
        demo = await user_store.fetch_user_by_username(resources.db, DEMO_USERNAME)
        assert other is not None
        assert demo is not None
        # The socket's session watch and the subscription both listen on demo's channel.
        await until_listening(resources, redis_keys.user_events_channel(demo.id), 2)
        post_id = await resources.db.fetchval(
            "SELECT id FROM posts WHERE author_id = $1 ORDER BY id LIMIT 1", demo.id
        )
        await add_comment(resources.social, viewer_of(other), post_id=post_id, text="Live!")
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        assert message["type"] == "next", message
        event = message["payload"]["data"]["notificationReceived"]
        assert (event["kind"], event["actor"]["username"]) == ("COMMENT", "alpine.light")


async def test_seed_next_to_a_running_worker_completes_with_every_picture_ready(
    clean: Resources, settings: Settings
) -> None:
    """`shutter seed` next to a running `shutter run`: its worker takes the media jobs the seed
    queues (this one polls the queue constantly, so it takes each job at once) while the seed
    waits for them; every picture ends READY once, every post is published."""
    assert settings.redis_url
    worker = Worker(
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        handle_signals=False,
        poll_delay=0.01,
        **worker_options(settings),
    )
    running = asyncio.create_task(worker.async_run())
    try:
        plan = plan_demo(USERS, POSTS_PER_USER, SEED)
        report = await run_seed(
            settings, users=USERS, posts_per_user=POSTS_PER_USER, seed=SEED, out=io.StringIO()
        )
    finally:
        await drain(worker, grace_seconds=10)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert (report.users, report.posts, report.images) == (USERS, len(plan.posts), plan.image_count)
    db = clean.db
    media = await db.fetch("SELECT status, variants FROM media ORDER BY id")
    assert len(media) == plan.image_count
    assert {row["status"] for row in media} == {"READY"}
    assert all([v["name"] for v in _variants(row)] == VARIANTS for row in media)
    posts = await db.fetch("SELECT status, caption FROM posts ORDER BY id")
    assert [(row["status"], row["caption"]) for row in posts] == [
        ("PUBLISHED", post.caption) for post in plan.posts
    ]
    assert await db.fetchval("SELECT count(*) FROM post_media") == plan.image_count
    tags = await db.fetch("SELECT name, post_count FROM hashtags")
    assert {row["name"]: row["post_count"] for row in tags} == _expected_tag_counts(plan)
    assert await db.fetchval("SELECT count(*) FROM likes") == len(plan.likes)
    assert await db.fetchval("SELECT count(*) FROM comments") == len(plan.comments)
    assert await clean.redis.zcard(default_queue_name) == 0


def test_seed_finds_the_valkey_a_running_shutter_run_started(tmp_path: Path) -> None:
    """How `shutter seed` shares the embedded Valkey of a `shutter run` on the same data dir
    (PostgreSQL is shared by pgserver itself)."""
    folder = tmp_path / "valkey"
    assert find_running_valkey(folder) is None
    server = start_valkey(folder, persist=False)
    try:
        assert find_running_valkey(folder) == server.url
        assert find_running_valkey(tmp_path / "elsewhere") is None
    finally:
        server.stop()
    assert find_running_valkey(folder) is None, "a stale valkey.conf is not a server"
