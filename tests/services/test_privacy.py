"""Private accounts, follow requests, blocks and mutes at the service level (docs/privacy.md):
real PostgreSQL and Redis, exact rows and counters; refusals change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from resources import Resources
from services import comments, follows, likes, notifications, privacy, safety
from services.accounts import ProfileChanges
from services.errors import DomainError, UserErrorCode
from services.feed import FeedOrder, fan_out_post, read_feed
from services.follows import FollowStatus
from storage.pg import Db
from storage.pg.users import UserRecord
from tests.api.helpers import snapshot
from tests.factories import make_user, viewer_of
from tests.feed_factories import at, feed_deps, insert_post, social_with


async def counts(db: Db, user: UserRecord) -> tuple[int, int]:
    """(follower_count, following_count) as stored."""
    row = await db.fetchrow(
        "SELECT follower_count, following_count FROM users WHERE id = $1", user.id
    )
    assert row is not None
    return row["follower_count"], row["following_count"]


async def make_private(db: Db, user: UserRecord) -> None:
    await db.execute("UPDATE users SET is_private = true WHERE id = $1", user.id)


async def notes(db: Db, recipient: UserRecord) -> list[tuple[str, int, int]]:
    """(kind, actor, actor_count) of the recipient's stored notifications with actors."""
    rows = await db.fetch(
        """SELECT kind, actor_id, actor_count FROM notifications
            WHERE recipient_id = $1 AND actor_count > 0 ORDER BY id""",
        recipient.id,
    )
    return [(row["kind"], row["actor_id"], row["actor_count"]) for row in rows]


def codes(error: pytest.ExceptionInfo[DomainError]) -> list[tuple[UserErrorCode, Any]]:
    return [(item.code, item.field) for item in error.value.errors]


async def test_a_follow_request_waits_for_approval(clean: Resources) -> None:
    db, social = clean.db, clean.social
    owner, fan = await make_user(db, "owner"), await make_user(db, "fan")
    await make_private(db, owner)
    outcome = await follows.follow_user(social, viewer_of(fan), owner.id)
    assert outcome.status is FollowStatus.REQUESTED
    assert await db.fetch("SELECT requester_id, target_id FROM follow_requests") == [
        (fan.id, owner.id)
    ]
    assert await db.fetchval("SELECT count(*) FROM follows") == 0
    assert (await counts(db, owner), await counts(db, fan)) == ((0, 0), (0, 0))
    assert await notes(db, owner) == [("FOLLOW_REQUEST", fan.id, 1)]
    again = await follows.follow_user(social, viewer_of(fan), owner.id)
    assert again.status is FollowStatus.REQUESTED
    assert await db.fetchval("SELECT count(*) FROM follow_requests") == 1

    me, requester = await follows.approve_follow_request(social, viewer_of(owner), fan.id)
    assert (me.follower_count, requester.following_count) == (1, 1)
    assert await db.fetch("SELECT follower_id, followee_id FROM follows") == [(fan.id, owner.id)]
    assert await db.fetchval("SELECT count(*) FROM follow_requests") == 0
    assert await notes(db, owner) == [("FOLLOW", fan.id, 1)]
    assert await notes(db, fan) == [("FOLLOW_ACCEPTED", owner.id, 1)]
    following = await follows.follow_user(social, viewer_of(fan), owner.id)
    assert following.status is FollowStatus.FOLLOWING
    assert (await counts(db, owner), await counts(db, fan)) == ((1, 0), (0, 1))


async def test_declining_cancelling_and_missing_requests(clean: Resources) -> None:
    db, social = clean.db, clean.social
    owner, fan, other = [await make_user(db, name) for name in ("owner", "fan", "other")]
    await make_private(db, owner)
    await follows.follow_user(social, viewer_of(fan), owner.id)
    before = await snapshot(clean)
    for change, viewer, target in (
        (follows.approve_follow_request, owner, other.id),
        (follows.decline_follow_request, owner, other.id),
        (follows.cancel_follow_request, other, owner.id),
        (follows.approve_follow_request, fan, owner.id),  # the request is not to the fan
    ):
        with pytest.raises(DomainError) as error:
            await change(social, viewer_of(viewer), target)
        assert codes(error) == [(UserErrorCode.NOT_FOUND, ("userId",))]
    assert await snapshot(clean) == before
    await follows.decline_follow_request(social, viewer_of(owner), fan.id)
    assert await db.fetchval("SELECT count(*) FROM follow_requests") == 0
    assert await notes(db, owner) == []
    assert await notes(db, fan) == []
    await follows.follow_user(social, viewer_of(fan), owner.id)
    await follows.cancel_follow_request(social, viewer_of(fan), owner.id)
    assert await db.fetchval("SELECT count(*) FROM follow_requests") == 0
    assert await notes(db, owner) == []
    assert await db.fetchval("SELECT count(*) FROM follows") == 0


async def test_turning_public_approves_every_pending_request(clean: Resources) -> None:
    db, social = clean.db, clean.social
    owner = await make_user(db, "owner")
    fans = [await make_user(db, f"fan{i}") for i in range(5)]
    await privacy.update_profile(
        clean.accounts, social, viewer_of(owner), ProfileChanges(is_private=True)
    )
    for fan in fans:
        assert (await follows.follow_user(social, viewer_of(fan), owner.id)).status is (
            FollowStatus.REQUESTED
        )
    updated = await privacy.update_profile(
        clean.accounts, social, viewer_of(owner), ProfileChanges(is_private=False)
    )
    assert (updated.is_private, updated.follower_count) == (False, 5)
    assert await db.fetchval("SELECT count(*) FROM follow_requests") == 0
    assert sorted(
        row["follower_id"] for row in await db.fetch("SELECT follower_id FROM follows")
    ) == sorted(fan.id for fan in fans)
    for fan in fans:
        assert await counts(db, fan) == (0, 1)
        assert await notes(db, fan) == [("FOLLOW_ACCEPTED", owner.id, 1)]


async def test_a_block_ends_follows_and_requests_both_ways(clean: Resources) -> None:
    db, social = clean.db, clean.social
    ann, ben, cat = [await make_user(db, name) for name in ("ann", "ben", "cat")]
    await follows.follow_user(social, viewer_of(ann), ben.id)
    await follows.follow_user(social, viewer_of(ben), ann.id)
    await follows.follow_user(social, viewer_of(cat), ben.id)
    await make_private(db, ann)
    await follows.follow_user(social, viewer_of(cat), ann.id)  # a request unrelated to ben
    me, them = await safety.block_user(social, viewer_of(ann), ben.id)
    assert (me.follower_count, me.following_count) == (0, 0)
    assert (them.follower_count, them.following_count) == (1, 0)  # cat still follows ben
    assert await db.fetch("SELECT follower_id, followee_id FROM follows") == [(cat.id, ben.id)]
    assert await db.fetch("SELECT blocker_id, blocked_id FROM blocks") == [(ann.id, ben.id)]
    assert await db.fetch("SELECT requester_id FROM follow_requests") == [(cat.id,)]
    # Blocking again: no change, no error.
    before = await snapshot(clean)
    await safety.block_user(social, viewer_of(ann), ben.id)
    assert await snapshot(clean) == before
    # Across the block: BLOCKED for the blocker, NOT_FOUND (as for no account) for the blocked.
    for viewer, target, expected in (
        (ann, ben, UserErrorCode.BLOCKED),
        (ben, ann, UserErrorCode.NOT_FOUND),
    ):
        for change in (follows.follow_user, follows.unfollow_user):
            with pytest.raises(DomainError) as error:
                await change(social, viewer_of(viewer), target.id)
            assert codes(error) == [(expected, ("userId",))]
    with pytest.raises(DomainError) as error:
        await safety.block_user(social, viewer_of(ben), ann.id)
    assert codes(error) == [(UserErrorCode.NOT_FOUND, ("userId",))]
    with pytest.raises(DomainError) as error:
        await safety.block_user(social, viewer_of(ann), ann.id)
    assert codes(error) == [(UserErrorCode.INVALID_INPUT, ("userId",))]
    assert await snapshot(clean) == before
    await safety.unblock_user(social, viewer_of(ann), ben.id)
    await safety.unblock_user(social, viewer_of(ann), ben.id)  # again: a no-op
    assert await db.fetchval("SELECT count(*) FROM blocks") == 0
    assert await db.fetchval("SELECT count(*) FROM follows") == 1  # not restored


async def test_likes_and_comments_across_a_block_are_refused(clean: Resources) -> None:
    db, social = clean.db, clean.social
    ann, ben = await make_user(db, "ann"), await make_user(db, "ben")
    ann_post = await insert_post(db, ann.id, at(1))
    ben_post = await insert_post(db, ben.id, at(2))
    own = await insert_post(db, ann.id, at(3))
    await safety.block_user(social, viewer_of(ann), ben.id)
    before = await snapshot(clean)
    for viewer, post_id, code in (
        (ann, ben_post, UserErrorCode.BLOCKED),
        (ben, ann_post, UserErrorCode.NOT_FOUND),
    ):
        with pytest.raises(DomainError) as error:
            await likes.like_post(social, viewer_of(viewer), post_id)
        assert codes(error) == [(code, ("postId",))]
        with pytest.raises(DomainError) as error:
            await comments.add_comment(social, viewer_of(viewer), post_id=post_id, text="hi")
        assert codes(error) == [(code, ("postId",))]
    with pytest.raises(DomainError) as error:
        await comments.add_comment(social, viewer_of(ann), post_id=own, text="hey @ben")
    assert codes(error) == [(UserErrorCode.BLOCKED, ("text",))]
    assert await snapshot(clean) == before


async def groups(db: Db, recipient: UserRecord) -> list[tuple[str, int, int, int | None]]:
    """(kind, face, actor_count, comment_id) of every stored group of the recipient, by id."""
    rows = await db.fetch(
        """SELECT kind, actor_id, actor_count, comment_id FROM notifications
            WHERE recipient_id = $1 ORDER BY id""",
        recipient.id,
    )
    return [(r["kind"], r["actor_id"], r["actor_count"], r["comment_id"]) for r in rows]


async def listed_faces(db: Db, recipient: UserRecord) -> list[tuple[str, int, int]]:
    """(kind, face, actorCount) of what the recipient's notification list shows, newest first."""
    page = await notifications.list_notifications(db, recipient.id, first=50, after=None)
    return [(n.kind, n.actor_id, n.actor_count) for _, n in page.edges]


async def test_a_block_takes_each_side_out_of_the_others_notifications_exactly(
    clean: Resources,
) -> None:
    db, social = clean.db, clean.social
    ann, ben, cat = [await make_user(db, name) for name in ("ann", "ben", "cat")]
    liked_by_ben_last = await insert_post(db, ann.id, at(1))
    liked_by_cat_last = await insert_post(db, ann.id, at(2))
    for post_id, likers in ((liked_by_ben_last, (cat, ben)), (liked_by_cat_last, (ben, cat))):
        for liker in likers:
            await likes.like_post(social, viewer_of(liker), post_id)
    cat_comment = await comments.add_comment(
        social, viewer_of(cat), post_id=liked_by_ben_last, text="c"
    )
    ben_comment = await comments.add_comment(
        social, viewer_of(ben), post_id=liked_by_ben_last, text="b"
    )
    await follows.follow_user(social, viewer_of(ben), ann.id)
    await follows.follow_user(social, viewer_of(ann), ben.id)  # ben's FOLLOW: ann alone
    ben_post = await insert_post(db, ben.id, at(3))
    ann_comment = await comments.add_comment(social, viewer_of(ann), post_id=ben_post, text="@cat")
    assert await groups(db, ann) == [
        ("LIKE", ben.id, 2, None),
        ("LIKE", cat.id, 2, None),
        ("COMMENT", ben.id, 2, ben_comment.id),
        ("FOLLOW", ben.id, 1, None),
    ]
    assert await groups(db, ben) == [
        ("FOLLOW", ann.id, 1, None),
        ("COMMENT", ann.id, 1, ann_comment.id),
    ]
    cat_before = await groups(db, cat)

    await safety.block_user(social, viewer_of(ann), ben.id)
    # ann's groups lose ben exactly: counts drop, the latest remaining actor (and comment) is
    # the face, a group of ben alone is gone; ben's groups lose ann the same way.
    assert await groups(db, ann) == [
        ("LIKE", cat.id, 1, None),
        ("LIKE", cat.id, 1, None),
        ("COMMENT", cat.id, 1, cat_comment.id),
    ]
    assert await listed_faces(db, ann) == [
        ("COMMENT", cat.id, 1),
        ("LIKE", cat.id, 1),
        ("LIKE", cat.id, 1),
    ]
    assert await notifications.unread_count(db, ann.id) == 3
    assert await groups(db, ben) == []
    assert await listed_faces(db, ben) == []
    assert await notifications.unread_count(db, ben.id) == 0
    assert await groups(db, cat) == cat_before  # a third party's notifications are untouched
    # Blocking again changes nothing; unblocking brings nothing back.
    await safety.block_user(social, viewer_of(ann), ben.id)
    await safety.unblock_user(social, viewer_of(ann), ben.id)
    assert len(await groups(db, ann)) == 3
    assert await groups(db, ben) == []


async def test_no_notification_crosses_a_block_and_mutes_hide_at_read(clean: Resources) -> None:
    db, social = clean.db, clean.social
    ann, ben, cat = [await make_user(db, name) for name in ("ann", "ben", "cat")]
    await follows.follow_user(social, viewer_of(ben), ann.id)  # FOLLOW to ann from ben
    await follows.follow_user(social, viewer_of(cat), ann.id)  # FOLLOW to ann from cat
    assert await notifications.unread_count(db, ann.id) == 1  # one group, cat its face
    post = await insert_post(db, cat.id, at(1))
    await comments.add_comment(social, viewer_of(ann), post_id=post, text="hello @ben")
    assert await notes(db, ben) == [("MENTION", ann.id, 1)]
    await safety.block_user(social, viewer_of(ben), ann.id)
    # ben's old MENTION by ann is gone, and ann's FOLLOW group counts cat alone.
    assert (await notifications.list_notifications(db, ben.id, first=10, after=None)).edges == []
    assert await notifications.unread_count(db, ben.id) == 0
    assert await listed_faces(db, ann) == [("FOLLOW", cat.id, 1)]
    await comments.add_comment(social, viewer_of(cat), post_id=post, text="@ann meets @ben")
    ann_post = await insert_post(db, ann.id, at(2))
    await comments.add_comment(social, viewer_of(ann), post_id=ann_post, text="hi @ben")
    # cat's mention notifies both; ann's new mention of ben on her own post created nothing.
    assert await notes(db, ben) == [("MENTION", cat.id, 1)]
    assert await listed_faces(db, ben) == [("MENTION", cat.id, 1)]
    # Muting hides the muted account's notifications from the muter only, at read (a mute is
    # undone by unmuting: nothing is deleted).
    await safety.mute_user(social, viewer_of(ann), cat.id)
    assert await listed_faces(db, ann) == []
    assert await notifications.unread_count(db, ann.id) == 0
    assert await listed_faces(db, ben) == [("MENTION", cat.id, 1)]
    await safety.unmute_user(social, viewer_of(ann), cat.id)
    assert await listed_faces(db, ann) == [("MENTION", cat.id, 1), ("FOLLOW", cat.id, 1)]
    assert await notifications.unread_count(db, ann.id) == 2


@pytest.mark.parametrize("flush", [False, True])
async def test_muted_and_blocked_authors_leave_the_feed_in_both_orders(
    clean: Resources, flush: bool
) -> None:
    db = clean.db
    deps = feed_deps(clean)
    social = social_with(clean, deps)
    me, muted, blocked, kept = [
        await make_user(db, name) for name in ("me", "muted", "blocked", "kept")
    ]
    for author in (muted, blocked, kept):
        await follows.follow_user(social, viewer_of(me), author.id)
    posts = {
        author.id: [await insert_post(db, author.id, at(i * 3 + n)) for n in range(2)]
        for i, author in enumerate((muted, blocked, kept))
    }
    for author in (muted, blocked, kept):  # fan out to my cached feed
        for post_id in posts[author.id]:
            await fan_out_post(deps, post_id)
    first = await read_feed(deps, me.id, first=20, after=None, order=FeedOrder.CHRONOLOGICAL)
    assert len(first.edges) == 6
    await safety.mute_user(social, viewer_of(me), muted.id)
    await safety.block_user(social, viewer_of(blocked), me.id)
    if flush:
        await clean.redis.flushdb()
    expected = list(reversed(posts[kept.id]))
    for order in FeedOrder:
        page = await read_feed(deps, me.id, first=20, after=None, order=order)
        assert [view.post.id for _, view in page.edges] == expected, order
    # The follow of the muted account stays; unmuting brings its posts back.
    assert (
        await db.fetchval(
            "SELECT count(*) FROM follows WHERE follower_id = $1 AND followee_id = $2",
            me.id,
            muted.id,
        )
        == 1
    )
    await safety.unmute_user(social, viewer_of(me), muted.id)
    page = await read_feed(deps, me.id, first=20, after=None, order=FeedOrder.CHRONOLOGICAL)
    assert [view.post.id for _, view in page.edges] == sorted(
        posts[kept.id] + posts[muted.id], reverse=True
    )
