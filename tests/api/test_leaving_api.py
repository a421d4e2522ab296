"""Leaving and export through the API: deactivation hides the account until its owner logs in,
deletion is cancelled by a log-in during the grace period, an export is a streamed zip with a
signed link that expires, mailed to its owner; refusals change nothing."""

from __future__ import annotations

import io
import json
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from schema.global_ids import encode_global_id
from services import comments, follows, likes, posts
from services.errors import DomainError, UserErrorCode
from settings import Settings
from storage import redis_keys
from storage.pg import users as user_store
from tests.api.helpers import PASSWORD, sign_up, snapshot
from tests.conftest import LiveApp, run_worker_until_idle
from tests.factories import make_media, make_user, viewer_of

DEACTIVATE = """mutation M($password: String!) {
  deactivateAccount(input: {password: $password}) { ok userErrors { code field } } }"""
DELETE = """mutation M($password: String!) {
  deleteAccount(input: {password: $password}) { ok eraseAfter userErrors { code field } } }"""
LOG_IN_FULL = """mutation L($input: LogInInput!) { logIn(input: $input) {
  accessToken reactivated deletionCancelled userErrors { code field } } }"""
EXPORT = """mutation { requestDataExport(input: {}) {
  dataExport { status progress url } userErrors { code field } } }"""
STATE = "{ viewer { dataExport { status progress url expiresAt } } }"
SEEN = """query S($name: String!) { user(username: $name) { username } }"""


async def log_in(live: LiveApp, name: str, password: str = PASSWORD) -> dict[str, Any]:
    body = await live.graphql(
        LOG_IN_FULL, {"input": {"usernameOrEmail": name, "password": password}}
    )
    payload: dict[str, Any] = body["data"]["logIn"]
    return payload


async def with_content(live: LiveApp, name: str) -> tuple[int, str]:
    """A user with a published post that a follower liked and commented on."""
    token = (await sign_up(live, name))["accessToken"]
    db = live.resources.db
    user = await user_store.fetch_user_by_username(db, name)
    assert user is not None
    post = await posts.create_post(
        live.resources.posts,
        viewer_of(user),
        media_ids=[await make_media(db, user.id)],
        caption="hello #world",
        alt_texts=[],
    )
    return post.id, token


async def test_deactivation_hides_everything_until_the_owner_logs_in(live: LiveApp) -> None:
    post_id, token = await with_content(live, "sleeper")
    db = live.resources.db
    viewer = await make_user(db, "watcher")
    await likes.like_post(live.resources.social, viewer_of(viewer), post_id)
    sleeper = await user_store.fetch_user_by_username(db, "sleeper")
    assert sleeper is not None

    wrong = await live.graphql(DEACTIVATE, {"password": "not it at all"}, token=token)
    assert wrong["data"]["deactivateAccount"] == {
        "ok": False,
        "userErrors": [{"code": "INVALID_CREDENTIALS", "field": ["input", "password"]}],
    }
    assert await db.fetchval("SELECT deactivated_at FROM users WHERE username = 'sleeper'") is None

    done = await live.graphql(DEACTIVATE, {"password": PASSWORD}, token=token)
    assert done["data"]["deactivateAccount"] == {"ok": True, "userErrors": []}
    ended = await live.graphql("{ viewer { id } }", token=token)
    assert ended["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    # Hidden from everyone: the profile, the post, and as a liker.
    assert (await live.graphql(SEEN, {"name": "sleeper"}))["data"] == {"user": None}
    with pytest.raises(DomainError) as refused:  # acting on its post: as if it were gone
        await likes.unlike_post(live.resources.social, viewer_of(viewer), post_id)
    assert refused.value.errors[0].code == UserErrorCode.NOT_FOUND
    found = await posts.fetch_visible_post(db, viewer.id, post_id)
    assert found is None
    # Logging in reactivates it (and says so).
    back = await log_in(live, "sleeper")
    assert back["userErrors"] == []
    assert (back["reactivated"], back["deletionCancelled"]) == (True, False)
    assert (await live.graphql(SEEN, {"name": "sleeper"}))["data"] == {
        "user": {"username": "sleeper"}
    }
    assert await posts.fetch_visible_post(db, viewer.id, post_id) is not None


FEED = "{ feed(first: 10, order: CHRONOLOGICAL) { nodes { id } } }"


async def test_reactivation_puts_the_posts_back_into_feeds_rebuilt_meanwhile(
    live: LiveApp, settings: Settings
) -> None:
    post_id, token = await with_content(live, "sleeper")
    db = live.resources.db
    watcher_token = (await sign_up(live, "watcher"))["accessToken"]
    watcher = await user_store.fetch_user_by_username(db, "watcher")
    sleeper = await user_store.fetch_user_by_username(db, "sleeper")
    assert watcher is not None
    assert sleeper is not None
    await follows.follow_user(live.resources.social, viewer_of(watcher), sleeper.id)
    await run_worker_until_idle(settings)  # the follow merges sleeper's post into the feed
    with_post = {"feed": {"nodes": [{"id": str(encode_global_id("Post", post_id))}]}}
    assert (await live.graphql(FEED, token=watcher_token))["data"] == with_post

    done = await live.graphql(DEACTIVATE, {"password": PASSWORD}, token=token)
    assert done["data"]["deactivateAccount"] == {"ok": True, "userErrors": []}
    # The watcher's feed is rebuilt while sleeper is hidden: without the post, and cached.
    feed_key = redis_keys.feed(watcher.id)
    await live.resources.redis.delete(feed_key)
    without_post = {"feed": {"nodes": []}}
    assert (await live.graphql(FEED, token=watcher_token))["data"] == without_post
    assert await live.resources.redis.exists(feed_key)

    back = await log_in(live, "sleeper")
    assert (back["userErrors"], back["reactivated"]) == ([], True)
    # The cached feed still lacks it until the queued repair runs...
    assert (await live.graphql(FEED, token=watcher_token))["data"] == without_post
    await run_worker_until_idle(settings)
    # ...and then it is back.
    assert (await live.graphql(FEED, token=watcher_token))["data"] == with_post


async def test_a_log_in_during_the_grace_period_cancels_the_deletion(live: LiveApp) -> None:
    _, token = await with_content(live, "waverer")
    wrong = await live.graphql(DELETE, {"password": "not it at all"}, token=token)
    assert wrong["data"]["deleteAccount"]["userErrors"] == [
        {"code": "INVALID_CREDENTIALS", "field": ["input", "password"]}
    ]
    db = live.resources.db
    assert await db.fetchval("SELECT erase_after FROM users WHERE username = 'waverer'") is None

    done = await live.graphql(DELETE, {"password": PASSWORD}, token=token)
    payload = done["data"]["deleteAccount"]
    assert payload["ok"] is True
    erase_after = datetime.fromisoformat(payload["eraseAfter"])
    grace = erase_after - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < grace <= timedelta(days=30)
    assert (await live.graphql(SEEN, {"name": "waverer"}))["data"] == {"user": None}

    back = await log_in(live, "waverer")
    assert (back["reactivated"], back["deletionCancelled"]) == (True, True)
    row = await db.fetchrow(
        "SELECT deactivated_at, erase_after FROM users WHERE username = 'waverer'"
    )
    assert tuple(row) == (None, None)

    # Once the deletion has taken effect, a log-in no longer saves it.
    token = back["accessToken"]
    assert (await live.graphql(DELETE, {"password": PASSWORD}, token=token))["data"][
        "deleteAccount"
    ]["ok"]
    await db.execute("UPDATE users SET erase_after = now() WHERE username = 'waverer'")
    late = await log_in(live, "waverer")
    assert late["userErrors"] == [{"code": "INVALID_CREDENTIALS", "field": None}]


async def test_export_is_a_zip_of_own_data_with_an_expiring_link(
    live: LiveApp, settings: Settings
) -> None:
    post_id, token = await with_content(live, "exporter")
    db = live.resources.db
    other = await make_user(db, "neighbour")
    exporter = await user_store.fetch_user_by_username(db, "exporter")
    assert exporter is not None
    social = live.resources.social
    await follows.follow_user(social, viewer_of(other), exporter.id)
    await likes.like_post(social, viewer_of(exporter), post_id)
    await comments.add_comment(social, viewer_of(exporter), post_id=post_id, text="mine")
    assert (await live.graphql(STATE, token=token))["data"]["viewer"]["dataExport"] is None

    first = await live.graphql(EXPORT, token=token)
    assert first["data"]["requestDataExport"] == {
        "dataExport": {"status": "QUEUED", "progress": 0, "url": None},
        "userErrors": [],
    }
    before = await snapshot(live.resources)
    second = await live.graphql(EXPORT, token=token)
    assert second["data"]["requestDataExport"] == {
        "dataExport": None,
        "userErrors": [{"code": "ALREADY_EXISTS", "field": None}],
    }
    assert await snapshot(live.resources) == before

    await run_worker_until_idle(settings)
    state = (await live.graphql(STATE, token=token))["data"]["viewer"]["dataExport"]
    assert (state["status"], state["progress"]) == ("READY", 100)
    # Nobody else sees it.
    other_view = await live.graphql('{ user(username: "exporter") { dataExport { url } } }')
    assert other_view["data"]["user"]["dataExport"] is None

    async with httpx.AsyncClient() as client:
        response = await client.get(state["url"])
        assert response.status_code == 200
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        names = set(archive.namelist())
        assert {
            "profile.json",
            "posts.json",
            "comments.json",
            "likes.json",
            "following.json",
            "followers.json",
            "notifications.json",
        } <= names
        profile = json.loads(archive.read("profile.json"))
        assert (profile["username"], profile["email"]) == ("exporter", "exporter@example.com")
        assert [p["caption"] for p in json.loads(archive.read("posts.json"))] == ["hello #world"]
        assert [c["text"] for c in json.loads(archive.read("comments.json"))] == ["mine"]
        assert [like["post_id"] for like in json.loads(archive.read("likes.json"))] == [post_id]
        followers = json.loads(archive.read("followers.json"))
        assert [f["username"] for f in followers] == ["neighbour"]
        # A tampered link is refused.
        tampered = state["url"].replace("sig=", "sig=0")
        assert (await client.get(tampered)).status_code == 403
    # The owner was mailed the link (the outbox: no SMTP_URL in the tests) and told in the app.
    mails = sorted(settings.outbox_dir.glob("*.eml"), key=lambda path: path.stat().st_mtime)
    assert b"Your Shutter data is ready" in mails[-1].read_bytes()
    told = await live.graphql(
        "{ notifications(first: 5) { nodes { kind actorCount actor { username } } } }",
        token=token,
    )
    assert told["data"]["notifications"]["nodes"][0] == {
        "kind": "DATA_EXPORT_READY",
        "actorCount": 1,
        "actor": {"username": "exporter"},
    }

    # A link that expired is refused.
    key = await db.fetchval("SELECT blob_key FROM data_exports")
    short = await live.resources.blobs.presign_get(
        key, expires_in=timedelta(seconds=1), filename="x.zip"
    )
    expires = int(short.split("expires=")[1].split("&")[0])
    while time.time() <= expires:  # wait for the moment itself, not a guess
        await _tick()
    async with httpx.AsyncClient() as client:
        assert (await client.get(short)).status_code == 403
    # And an export past its expiry shows no link.
    await db.execute("UPDATE data_exports SET expires_at = now() - interval '1 second'")
    state = (await live.graphql(STATE, token=token))["data"]["viewer"]["dataExport"]
    assert (state["status"], state["url"]) == ("EXPIRED", None)


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.05)
