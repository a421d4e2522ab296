"""Likes (idempotent, exact counters through Redis loss and storms) and comments."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from redis.asyncio import Redis

from resources import Resources
from services import comments, likes, posts
from services.errors import DomainError, UserErrorCode
from storage import redis_keys
from storage.pg import Db
from storage.pg.posts import PostRecord
from storage.pg.users import UserRecord
from tests.factories import make_media, make_user, viewer_of


@pytest.fixture
async def author(clean: Resources) -> UserRecord:
    return await make_user(clean.db, "author")


@pytest.fixture
async def post(clean: Resources, author: UserRecord) -> PostRecord:
    media_id = await make_media(clean.db, author.id)
    return await posts.create_post(
        clean.posts, viewer_of(author), media_ids=[media_id], caption=None, alt_texts=[]
    )


async def table_count(resources: Resources, post_id: int) -> int:
    value = await resources.db.fetchval("SELECT count(*) FROM likes WHERE post_id = $1", post_id)
    assert isinstance(value, int)
    return value


async def test_likes_are_idempotent_and_move_the_counter_once(
    clean: Resources, post: PostRecord
) -> None:
    fan = viewer_of(await make_user(clean.db, "fan"))
    assert await likes.like_post(clean.social, fan, post.id) is True
    assert await likes.like_post(clean.social, fan, post.id) is False
    assert await likes.like_counts(clean.db, clean.redis, [post.id]) == [1]
    assert await likes.unlike_post(clean.social, fan, post.id) is True
    assert await likes.unlike_post(clean.social, fan, post.id) is False
    assert await likes.like_counts(clean.db, clean.redis, [post.id]) == [0]


async def test_likes_on_missing_or_unpublished_posts_are_refused(
    clean: Resources, author: UserRecord
) -> None:
    pending = await posts.create_post(
        clean.posts,
        viewer_of(author),
        media_ids=[await make_media(clean.db, author.id, status="PROCESSING")],
        caption=None,
        alt_texts=[],
    )
    for post_id in (pending.id, pending.id + 100):
        with pytest.raises(DomainError) as error:
            await likes.like_post(clean.social, viewer_of(author), post_id)
        assert [(e.code, e.field) for e in error.value.errors] == [
            (UserErrorCode.NOT_FOUND, ("postId",))
        ]
    assert await clean.db.fetchval("SELECT count(*) FROM likes") == 0


async def test_counts_survive_losing_redis_and_flush_into_postgres(
    clean: Resources, post: PostRecord
) -> None:
    fans = [viewer_of(await make_user(clean.db, f"fan{i}")) for i in range(5)]
    for fan in fans:
        await likes.like_post(clean.social, fan, post.id)
    assert await likes.flush_like_counts(clean.db, clean.redis) == 1
    assert await clean.db.fetchval("SELECT like_count FROM posts WHERE id = $1", post.id) == 5

    await clean.redis.flushdb()  # Redis restarted empty
    await likes.unlike_post(clean.social, fans[0], post.id)  # no counter: nothing moves
    assert await likes.like_counts(clean.db, clean.redis, [post.id]) == [4]  # recounted
    await likes.like_post(clean.social, fans[0], post.id)
    assert await likes.like_counts(clean.db, clean.redis, [post.id]) == [5]
    await likes.flush_like_counts(clean.db, clean.redis)
    assert await clean.db.fetchval("SELECT like_count FROM posts WHERE id = $1", post.id) == 5


async def test_like_counts_stay_exact_under_a_like_unlike_storm(
    clean: Resources, post: PostRecord
) -> None:
    fans = [viewer_of(await make_user(clean.db, f"fan{i}")) for i in range(40)]
    rng = random.Random(11)
    operations = [
        (likes.like_post if rng.random() < 0.6 else likes.unlike_post)(
            clean.social, rng.choice(fans), post.id
        )
        for _ in range(400)
    ]
    await asyncio.gather(*operations)
    exact = await table_count(clean, post.id)
    assert await likes.like_counts(clean.db, clean.redis, [post.id]) == [exact]
    await likes.flush_like_counts(clean.db, clean.redis)
    assert await clean.db.fetchval("SELECT like_count FROM posts WHERE id = $1", post.id) == exact


@pytest.mark.parametrize("racing", ["like", "unlike"])
async def test_a_like_or_unlike_between_recount_and_refill_is_not_lost(
    clean: Resources, post: PostRecord, monkeypatch: pytest.MonkeyPatch, racing: str
) -> None:
    """The reader recounts a missing counter; a like (or unlike) commits and reaches Redis
    before the recount is stored: its change must not be lost from the counter nor the flush."""
    first, second = [viewer_of(await make_user(clean.db, f"fan{i}")) for i in range(2)]
    await likes.like_post(clean.social, first, post.id)
    await clean.redis.flushdb()  # the counter is gone: the next read recounts (1)
    recount = likes.like_store.count_likes

    async def recount_then_race(db: Db, post_ids: list[int]) -> dict[int, int]:
        counted = await recount(db, post_ids)
        if racing == "like":  # the like finds no counter: its increment is skipped
            assert await likes.like_post(clean.social, second, post.id) is True
        else:
            assert await likes.unlike_post(clean.social, first, post.id) is True
        return counted

    monkeypatch.setattr(likes.like_store, "count_likes", recount_then_race)
    stale = 1
    assert await likes.like_counts(clean.db, clean.redis, [post.id]) == [stale]
    monkeypatch.undo()

    exact = await table_count(clean, post.id)
    assert exact == (2 if racing == "like" else 0)
    assert await likes.like_counts(clean.db, clean.redis, [post.id]) == [exact]
    assert await clean.redis.get(redis_keys.post_like_count(post.id)) == str(exact).encode()
    await likes.flush_like_counts(clean.db, clean.redis)
    assert await clean.db.fetchval("SELECT like_count FROM posts WHERE id = $1", post.id) == exact


@pytest.mark.parametrize("racing", ["like", "unlike"])
async def test_a_recount_between_a_like_and_its_counter_change_does_not_count_it_twice(
    clean: Resources, post: PostRecord, monkeypatch: pytest.MonkeyPatch, racing: str
) -> None:
    """A like (or unlike) has committed; before its change reaches the counter, a reader
    recounts the missing counter (the like included) and would store it: the change must not
    then be applied on top of a count that already holds it."""
    fan = viewer_of(await make_user(clean.db, "fan"))
    if racing == "unlike":
        await likes.like_post(clean.social, fan, post.id)
    await clean.redis.flushdb()  # the counter is gone: the reader recounts
    write = likes.like_store.insert_like if racing == "like" else likes.like_store.delete_like
    read_meanwhile: list[list[int]] = []

    async def write_then_read(*args: Any, **kwargs: Any) -> Any:
        written = await write(*args, **kwargs)
        read_meanwhile.append(await likes.like_counts(clean.db, clean.redis, [post.id]))
        return written

    monkeypatch.setattr(
        likes.like_store, "insert_like" if racing == "like" else "delete_like", write_then_read
    )
    change = likes.like_post if racing == "like" else likes.unlike_post
    assert await change(clean.social, fan, post.id) is True
    monkeypatch.undo()

    exact = 1 if racing == "like" else 0
    assert read_meanwhile == [[exact]]
    assert await table_count(clean, post.id) == exact
    assert await likes.like_counts(clean.db, clean.redis, [post.id]) == [exact]
    assert await clean.redis.get(redis_keys.post_like_count(post.id)) == str(exact).encode()
    await likes.flush_like_counts(clean.db, clean.redis)
    assert await clean.db.fetchval("SELECT like_count FROM posts WHERE id = $1", post.id) == exact


async def test_a_like_whose_write_fails_leaves_the_counter_to_a_recount(
    clean: Resources, post: PostRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write committed but its caller saw an error (say, the connection dropped): the
    counter cannot know, so it is dropped and recounted, and the refill is not held back."""
    fan = viewer_of(await make_user(clean.db, "fan"))
    assert await likes.like_counts(clean.db, clean.redis, [post.id]) == [0]
    insert = likes.like_store.insert_like

    async def insert_then_fail(*args: Any, **kwargs: Any) -> Any:
        await insert(*args, **kwargs)
        raise ConnectionResetError("lost after the commit")

    monkeypatch.setattr(likes.like_store, "insert_like", insert_then_fail)
    with pytest.raises(ConnectionResetError):
        await likes.like_post(clean.social, fan, post.id)
    monkeypatch.undo()
    assert await clean.redis.get(redis_keys.post_like_count(post.id)) is None
    assert await likes.like_counts(clean.db, clean.redis, [post.id]) == [1]
    assert await clean.redis.get(redis_keys.post_like_count(post.id)) == b"1"


async def test_a_post_liked_before_its_counter_starts_is_recounted(
    clean: Resources, author: UserRecord
) -> None:
    """A like reaching Redis between a post's publish and its counter's start (0) is kept."""
    fan = viewer_of(await make_user(clean.db, "fan"))
    media_id = await make_media(clean.db, author.id)
    start = posts.counters.start_like_count

    async def like_then_start(redis: Redis, post_id: int) -> None:
        assert await likes.like_post(clean.social, fan, post_id) is True
        await start(redis, post_id)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(posts.counters, "start_like_count", like_then_start)
        post = await posts.create_post(
            clean.posts, viewer_of(author), media_ids=[media_id], caption=None, alt_texts=[]
        )
    assert await likes.like_counts(clean.db, clean.redis, [post.id]) == [1]
    assert await clean.redis.get(redis_keys.post_like_count(post.id)) == b"1"


async def test_likers_newest_first(clean: Resources, post: PostRecord) -> None:
    fans = [await make_user(clean.db, f"fan{i}") for i in range(3)]
    for fan in fans:
        await likes.like_post(clean.social, viewer_of(fan), post.id)
    page = await likes.list_likers(clean.db, None, post.id, first=2, after=None)
    assert [user.username for _, user in page.edges] == ["fan2", "fan1"]
    rest = await likes.list_likers(clean.db, None, post.id, first=2, after=page.edges[-1][0])
    assert [user.username for _, user in rest.edges] == ["fan0"]
    assert rest.has_next_page is False


async def test_comments_count_exactly_and_delete_by_the_right_people(
    clean: Resources, post: PostRecord, author: UserRecord
) -> None:
    talker = viewer_of(await make_user(clean.db, "talker"))
    stranger = viewer_of(await make_user(clean.db, "stranger"))
    first = await comments.add_comment(clean.social, talker, post_id=post.id, text="  nice  ")
    second = await comments.add_comment(clean.social, stranger, post_id=post.id, text="wow")
    assert first.text == "nice"
    for text in ("", "   ", "x" * 2201):
        with pytest.raises(DomainError):
            await comments.add_comment(clean.social, talker, post_id=post.id, text=text)
    assert await clean.db.fetchval("SELECT comment_count FROM posts WHERE id = $1", post.id) == 2
    with pytest.raises(DomainError) as error:
        await comments.delete_comment(clean.social, stranger, first.id)
    assert [e.code for e in error.value.errors] == [UserErrorCode.FORBIDDEN]
    await comments.delete_comment(clean.social, viewer_of(author), first.id)  # the post's author
    await comments.delete_comment(clean.social, stranger, second.id)  # the comment's author
    assert await clean.db.fetchval("SELECT comment_count FROM posts WHERE id = $1", post.id) == 0
    page = await comments.list_comments(clean.db, None, post.id, first=10, after=None)
    assert page.edges == []


async def test_comments_page_oldest_first(clean: Resources, post: PostRecord) -> None:
    talker = viewer_of(await make_user(clean.db, "talker"))
    made = [
        await comments.add_comment(clean.social, talker, post_id=post.id, text=str(i))
        for i in range(5)
    ]
    page = await comments.list_comments(clean.db, None, post.id, first=3, after=None)
    rest = await comments.list_comments(clean.db, None, post.id, first=3, after=page.edges[-1][0])
    assert [c.id for _, c in page.edges + rest.edges] == [c.id for c in made]
    assert (page.has_next_page, rest.has_next_page) == (True, False)
