"""Suspensions and bans through the real app (issue #19, docs "Suspensions and bans"): the
account's sessions end at once (token refused, refresh refused, socket closed), log-in answers
ACCOUNT_SUSPENDED with the end and keeps the suspension, every read path hides the account
while its follows (and counts) stay, and lifting brings everything back, cached feeds
included. A suspension whose end has passed is over for log-in and for the rule alike.
(The exhaustive read check is tests/api/test_privacy_oracle.py, whose worlds suspend and ban.)
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.constants import default_queue_name

from resources import Resources
from schema.global_ids import encode_global_id
from services import comments, follows, likes, posts, suspensions
from services.totp import challenge_digest
from settings import Settings
from storage import jobs, redis_keys
from storage.micros import micros_of
from storage.pg import users as user_store
from tests.api.helpers import PASSWORD, refresh, sign_up, snapshot
from tests.api.test_two_factor_api import COMPLETE, challenge_for, enrolled, mutate
from tests.api.test_websocket import close_by_server, signed_in_socket
from tests.conftest import LiveApp, run_worker_until_idle
from tests.factories import make_media, viewer_of

UNTIL = datetime(2030, 12, 31, tzinfo=UTC)
SUSPENDED = {
    "code": "ACCOUNT_SUSPENDED",
    "message": "This account is suspended until 2030-12-31T00:00:00Z.",
    "field": None,
}
BANNED = {"code": "ACCOUNT_SUSPENDED", "message": "This account is banned.", "field": None}
LOG_IN = """mutation L($name: String!, $password: String!) {
  logIn(input: {usernameOrEmail: $name, password: $password}) {
    accessToken refreshToken userErrors { code message field } suspension { until } } }"""
COMPLETE_WITH_SUSPENSION = COMPLETE.replace("userErrors {", "suspension { until } userErrors {")
VIEWER = "{ viewer { username } }"
# What "fan" reads: the profile of "sam", sam's post, fan's own post (likers, comments),
# fan's follow lists, fan's notifications, fan's feed, the people search, node(sam).
READS = """query R($sam: ID!, $samPost: ID!, $fanPost: ID!) {
  user(username: "sam") { username followerCount followingCount }
  node(id: $sam) { id }
  samPost: post(id: $samPost) { id }
  fanPost: post(id: $fanPost) {
    likers(first: 10) { nodes { username } }
    comments(first: 10) { nodes { text } } }
  viewer { followerCount followingCount
    followers(first: 10) { nodes { username } } following(first: 10) { nodes { username } } }
  notifications(first: 10) { nodes { kind actor { username } } }
  feed(first: 10, order: CHRONOLOGICAL) { nodes { id } }
  search(query: "sam") { users { username } }
}"""


async def log_in(live: LiveApp, name: str) -> dict[str, Any]:
    body = await live.graphql(LOG_IN, {"name": name, "password": PASSWORD})
    payload: dict[str, Any] = body["data"]["logIn"]
    return payload


class World:
    """sam and fan follow each other; each has a post; sam liked and commented on fan's post
    (fan was notified of the follow, the like and the comment)."""

    def __init__(self, live: LiveApp, settings: Settings) -> None:
        self.live, self.settings = live, settings

    async def build(self) -> None:
        live, db, social = self.live, self.live.resources.db, self.live.resources.social
        self.sam_session = await sign_up(live, "sam")
        self.fan_token = (await sign_up(live, "fan"))["accessToken"]
        sam = await user_store.fetch_user_by_username(db, "sam")
        fan = await user_store.fetch_user_by_username(db, "fan")
        assert sam is not None
        assert fan is not None
        self.sam_id = sam.id
        await follows.follow_user(social, viewer_of(fan), sam.id)
        await follows.follow_user(social, viewer_of(sam), fan.id)
        self.sam_post, self.fan_post = [
            (
                await posts.create_post(
                    live.resources.posts,
                    viewer_of(author),
                    media_ids=[await make_media(db, author.id)],
                    caption=f"by {author.username}",
                    alt_texts=[],
                )
            ).id
            for author in (sam, fan)
        ]
        await likes.like_post(social, viewer_of(sam), self.fan_post)
        await comments.add_comment(social, viewer_of(sam), post_id=self.fan_post, text="nice")
        await run_worker_until_idle(self.settings)

    async def reads(self) -> dict[str, Any]:
        variables = {
            "sam": str(encode_global_id("User", self.sam_id)),
            "samPost": self.gid(self.sam_post),
            "fanPost": self.gid(self.fan_post),
        }
        body = await self.live.graphql(READS, variables, token=self.fan_token)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def gid(self, post_id: int) -> str:
        return str(encode_global_id("Post", post_id))

    def visible(self) -> dict[str, Any]:
        """What fan reads while sam is visible."""
        return {
            "user": {"username": "sam", "followerCount": 1, "followingCount": 1},
            "node": {"id": str(encode_global_id("User", self.sam_id))},
            "samPost": {"id": self.gid(self.sam_post)},
            "fanPost": {
                "likers": {"nodes": [{"username": "sam"}]},
                "comments": {"nodes": [{"text": "nice"}]},
            },
            "viewer": {
                "followerCount": 1,
                "followingCount": 1,
                "followers": {"nodes": [{"username": "sam"}]},
                "following": {"nodes": [{"username": "sam"}]},
            },
            "notifications": {
                "nodes": [
                    {"kind": "COMMENT", "actor": {"username": "sam"}},
                    {"kind": "LIKE", "actor": {"username": "sam"}},
                    {"kind": "FOLLOW", "actor": {"username": "sam"}},
                ]
            },
            "feed": {"nodes": [{"id": self.gid(self.fan_post)}, {"id": self.gid(self.sam_post)}]},
            "search": {"users": [{"username": "sam"}]},
        }

    def hidden(self) -> dict[str, Any]:
        """What fan reads while sam is suspended: nothing of sam, the counts unchanged."""
        return {
            "user": None,
            "node": None,
            "samPost": None,
            "fanPost": {"likers": {"nodes": []}, "comments": {"nodes": []}},
            "viewer": {
                "followerCount": 1,
                "followingCount": 1,
                "followers": {"nodes": []},
                "following": {"nodes": []},
            },
            "notifications": {"nodes": []},
            "feed": {"nodes": [{"id": self.gid(self.fan_post)}]},
            "search": {"users": []},
        }


async def test_suspension_ends_every_session_hides_the_account_and_lifting_restores_it(
    live: LiveApp, settings: Settings
) -> None:
    world = World(live, settings)
    await world.build()
    assert await world.reads() == world.visible()
    token = world.sam_session["accessToken"]
    socket = await signed_in_socket(live, token)
    try:
        await suspensions.suspend_account(
            live.resources.accounts, world.sam_id, until=UNTIL, reason="spam"
        )
        # Sessions end at once: the open socket closes, the token and the refresh are refused.
        assert await close_by_server(socket) == (4403, "session ended")
    finally:
        await socket.close()
    refused = await live.graphql(VIEWER, token=token)
    assert refused["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert (await refresh(live, world.sam_session["refreshToken"]))["userErrors"] == [
        {"code": "INVALID_CREDENTIALS", "field": None}
    ]
    # Log-in is refused with the end, and changes nothing (the suspension stays).
    before = await snapshot(live.resources, with_rate_limits=False)
    assert await log_in(live, "sam") == {
        "accessToken": None,
        "refreshToken": None,
        "userErrors": [SUSPENDED],
        "suspension": {"until": "2030-12-31T00:00:00Z"},
    }
    assert await snapshot(live.resources, with_rate_limits=False) == before
    # Hidden from every read path; the follows and their counts stay.
    assert await world.reads() == world.hidden()
    # A feed rebuilt during the suspension is built without sam's posts...
    await live.resources.redis.delete(redis_keys.feed(await fan_id(live)))
    assert (await world.reads())["feed"] == world.hidden()["feed"]
    assert await live.resources.redis.exists(redis_keys.feed(await fan_id(live)))

    await suspensions.lift_suspension(live.resources.accounts, world.sam_id)
    await run_worker_until_idle(settings)  # ...and lifting puts them back
    assert await world.reads() == world.visible()
    back = await log_in(live, "sam")
    assert (back["userErrors"], back["suspension"]) == ([], None)
    assert (await live.graphql(VIEWER, token=back["accessToken"]))["data"] == {
        "viewer": {"username": "sam"}
    }


async def pass_the_end(resources: Resources, user_id: int, until: datetime) -> None:
    """Move the account's suspension end `until` into the past, as if its time had come: the
    row only (the feeds' repair job stays deferred in the queue)."""
    status = await resources.db.execute(
        "UPDATE users SET suspended_until = now() - interval '1 millisecond'"
        " WHERE id = $1 AND suspended_until = $2",
        user_id,
        until,
    )
    assert status == "UPDATE 1"


async def fan_id(live: LiveApp) -> int:
    user = await user_store.fetch_user_by_username(live.resources.db, "fan")
    assert user is not None
    return user.id


async def test_a_ban_refuses_the_second_step_of_a_two_factor_log_in(live: LiveApp) -> None:
    _, _, backup_codes = await enrolled(live, "tobias")
    user = await user_store.fetch_user_by_username(live.resources.db, "tobias")
    assert user is not None
    await suspensions.suspend_account(live.resources.accounts, user.id, until=None, reason="x")
    challenge = await challenge_for(live, "tobias")
    # The owner's proof is complete (a backup code), yet no session: nothing changes but the
    # challenge, which works once (the backup code stays unused).
    rows, keys = await snapshot(live.resources, with_rate_limits=False)
    payload = await mutate(
        live, COMPLETE_WITH_SUSPENSION, {"challenge": challenge, "code": backup_codes[0]}
    )
    challenge_key = redis_keys.two_factor_challenge(challenge_digest(challenge)).encode()
    assert await snapshot(live.resources, with_rate_limits=False) == (
        rows,
        {key: value for key, value in keys.items() if key != challenge_key},
    )
    assert payload == {
        "accessToken": None,
        "refreshToken": None,
        "viewer": None,
        "userErrors": [{"code": "ACCOUNT_SUSPENDED", "field": None}],
        "suspension": {"until": None},
    }
    assert (
        await live.resources.db.fetchval(
            "SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL", user.id
        )
        == 0
    )
    # And without two-factor, a ban says so in the log-in's message.
    await sign_up(live, "bart")
    bart = await user_store.fetch_user_by_username(live.resources.db, "bart")
    assert bart is not None
    await suspensions.suspend_account(live.resources.accounts, bart.id, until=None, reason="x")
    banned = await log_in(live, "bart")
    assert (banned["userErrors"], banned["suspension"]) == ([BANNED], {"until": None})


async def test_a_suspension_whose_end_has_passed_is_over_for_log_in_and_reads_alike(
    live: LiveApp, settings: Settings
) -> None:
    world = World(live, settings)
    await world.build()
    until = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    await suspensions.suspend_account(
        live.resources.accounts, world.sam_id, until=until, reason="cool off"
    )
    assert await world.reads() == world.hidden()  # fan's feed is built now, without sam's post
    # The feeds' repair waits in the queue for the end.
    repair = f"{jobs.FAN_OUT_AUTHOR}:{world.sam_id}:{micros_of(until)}"
    queued = await live.resources.redis.zscore(default_queue_name, repair)
    assert queued == micros_of(until) // 1000

    # The clock passes the end (moved in the row: no sleeping for an hour). The rule and log-in
    # see it at once; the feed rebuilt meanwhile waits for the repair...
    await pass_the_end(live.resources, world.sam_id, until)
    seen = await world.reads()
    assert seen == world.visible() | {"feed": world.hidden()["feed"]}
    # ...which is due now (the clock moved in the queue too).
    await live.resources.redis.zadd(default_queue_name, {repair: time.time() * 1000})
    await run_worker_until_idle(settings)
    assert await world.reads() == world.visible()
    assert (await log_in(live, "sam"))["userErrors"] == []
