"""Notifications: aggregation per post and kind, exact counts after retractions, read state."""

from __future__ import annotations

import pytest

from resources import Resources
from services import comments, follows, likes, notifications, posts
from storage.pg.notifications import NotificationRecord
from storage.pg.posts import PostRecord
from storage.pg.users import UserRecord
from tests.factories import make_media, make_user, viewer_of


@pytest.fixture
async def author(clean: Resources) -> UserRecord:
    return await make_user(clean.db, "author")


@pytest.fixture
async def post(clean: Resources, author: UserRecord) -> PostRecord:
    return await posts.create_post(
        clean.posts,
        viewer_of(author),
        media_ids=[await make_media(clean.db, author.id)],
        caption=None,
        alt_texts=[],
    )


async def inbox(resources: Resources, user: UserRecord) -> list[NotificationRecord]:
    page = await notifications.list_notifications(resources.db, user.id, first=50, after=None)
    return [record for _, record in page.edges]


def shape(records: list[NotificationRecord]) -> list[tuple[str, int, int]]:
    return [(n.kind, n.actor_id, n.actor_count) for n in records]


async def test_likes_aggregate_and_unlikes_leave_exact_counts(
    clean: Resources, author: UserRecord, post: PostRecord
) -> None:
    fans = [await make_user(clean.db, f"fan{i}") for i in range(3)]
    await likes.like_post(clean.social, viewer_of(author), post.id)  # liking your own: silent
    for fan in fans:
        await likes.like_post(clean.social, viewer_of(fan), post.id)
    assert shape(await inbox(clean, author)) == [("LIKE", fans[2].id, 3)]
    await likes.unlike_post(clean.social, viewer_of(fans[2]), post.id)
    assert shape(await inbox(clean, author)) == [("LIKE", fans[1].id, 2)]
    await likes.unlike_post(clean.social, viewer_of(fans[0]), post.id)
    await likes.unlike_post(clean.social, viewer_of(fans[1]), post.id)
    assert await inbox(clean, author) == []
    assert await notifications.unread_count(clean.db, author.id) == 0


async def test_comments_and_mentions_come_and_go_with_the_comment(
    clean: Resources, author: UserRecord, post: PostRecord
) -> None:
    talker = await make_user(clean.db, "talker")
    friend = await make_user(clean.db, "friend")
    comment = await comments.add_comment(
        clean.social, viewer_of(talker), post_id=post.id, text="look @Friend and @nobody @talker"
    )
    assert shape(await inbox(clean, author)) == [("COMMENT", talker.id, 1)]
    mentions = await inbox(clean, friend)
    assert shape(mentions) == [("MENTION", talker.id, 1)]
    assert (mentions[0].post_id, mentions[0].comment_id) == (post.id, comment.id)
    assert await inbox(clean, talker) == []
    await comments.delete_comment(clean.social, viewer_of(talker), comment.id)
    assert await inbox(clean, author) == []
    assert await inbox(clean, friend) == []


async def test_two_comments_by_one_person_count_once_until_both_are_gone(
    clean: Resources, author: UserRecord, post: PostRecord
) -> None:
    talker = await make_user(clean.db, "talker")
    first = await comments.add_comment(clean.social, viewer_of(talker), post_id=post.id, text="a")
    second = await comments.add_comment(clean.social, viewer_of(talker), post_id=post.id, text="b")
    assert shape(await inbox(clean, author)) == [("COMMENT", talker.id, 1)]
    await comments.delete_comment(clean.social, viewer_of(talker), first.id)
    assert shape(await inbox(clean, author)) == [("COMMENT", talker.id, 1)]
    await comments.delete_comment(clean.social, viewer_of(talker), second.id)
    assert await inbox(clean, author) == []


async def test_reading_closes_a_group_and_counts_unread(
    clean: Resources, author: UserRecord, post: PostRecord
) -> None:
    fans = [await make_user(clean.db, f"fan{i}") for i in range(3)]
    await likes.like_post(clean.social, viewer_of(fans[0]), post.id)
    await comments.add_comment(clean.social, viewer_of(fans[1]), post_id=post.id, text="hi")
    assert await notifications.unread_count(clean.db, author.id) == 2
    like_group = (await inbox(clean, author))[1]
    assert await notifications.mark_read(clean.db, author.id, up_to=like_group.id) == 1
    assert await notifications.mark_read(clean.db, author.id, up_to=None) == 0
    await likes.like_post(clean.social, viewer_of(fans[2]), post.id)  # a new group opens
    assert shape(await inbox(clean, author)) == [
        ("LIKE", fans[2].id, 1),
        ("COMMENT", fans[1].id, 1),
        ("LIKE", fans[0].id, 1),
    ]
    assert [n.read_at is None for n in await inbox(clean, author)] == [True, False, False]
    assert await notifications.unread_count(clean.db, author.id) == 1


async def test_deleting_a_post_deletes_the_notifications_about_it(
    clean: Resources, author: UserRecord, post: PostRecord
) -> None:
    fan, friend = await make_user(clean.db, "fan"), await make_user(clean.db, "friend")
    other_post = await posts.create_post(
        clean.posts,
        viewer_of(author),
        media_ids=[await make_media(clean.db, author.id)],
        caption=None,
        alt_texts=[],
    )
    await likes.like_post(clean.social, viewer_of(fan), post.id)
    await comments.add_comment(clean.social, viewer_of(fan), post_id=post.id, text="@friend see")
    await likes.like_post(clean.social, viewer_of(fan), other_post.id)
    await follows.follow_user(clean.social, viewer_of(fan), author.id)
    assert len(await inbox(clean, author)) == 4
    assert shape(await inbox(clean, friend)) == [("MENTION", fan.id, 1)]

    await posts.delete_post(clean.posts, viewer_of(author), post.id)

    remaining = await inbox(clean, author)
    assert [(n.kind, n.post_id) for n in remaining] == [("FOLLOW", None), ("LIKE", other_post.id)]
    assert await notifications.unread_count(clean.db, author.id) == 2
    assert await inbox(clean, friend) == []
    assert await notifications.unread_count(clean.db, friend.id) == 0
