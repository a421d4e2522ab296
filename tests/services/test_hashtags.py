"""Hashtags: exact counts through publish, edit and delete (also concurrently), and pages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from resources import Resources
from services import discover, hashtag_pages, posts
from services.hashtag_pages import HashtagOrder
from services.pagination import InvalidArgumentError
from storage.pg import comments as comment_store
from storage.pg import posts as post_store
from storage.pg import transaction
from storage.pg.posts import PostRecord
from tests.discover_factories import make_published_post
from tests.factories import make_media, make_user, viewer_of

NOW = datetime.now(UTC)


async def counts(resources: Resources) -> dict[str, int]:
    rows = await resources.db.fetch("SELECT name, post_count FROM hashtags ORDER BY name")
    return {row["name"]: row["post_count"] for row in rows}


async def pairs(resources: Resources) -> int:
    value = await resources.db.fetchval("SELECT count(*) FROM post_hashtags")
    assert isinstance(value, int)
    return value


async def test_publish_and_delete_keep_counts_exact(clean: Resources) -> None:
    author = await make_user(clean.db, "author")
    first = await posts.create_post(
        clean.posts,
        viewer_of(author),
        media_ids=[await make_media(clean.db, author.id)],
        caption="Golden hour #Sunset at the #beach #SUNSET #42 a#b",
        alt_texts=[],
    )
    # create_post ran the publish hook; running it again (a retry) adds nothing.
    assert await counts(clean) == {"beach": 1, "sunset": 1}
    await discover.on_post_published(clean.db, clean.redis, first)
    assert await counts(clean) == {"beach": 1, "sunset": 1}
    second = await make_published_post(clean.db, author.id, "again #sunset #Été")
    await discover.on_post_published(clean.db, clean.redis, second)
    assert await counts(clean) == {"beach": 1, "sunset": 2, "été": 1}
    jobs = sorted(job.job_id or "" for job in await clean.redis.queued_jobs())
    assert f"search_index_post:{first.id}:published" in jobs

    await posts.delete_post(clean.posts, viewer_of(author), first.id)  # runs the delete hook
    assert await discover.on_post_deleted(clean.db, clean.redis, first.id) == []
    assert await counts(clean) == {"beach": 0, "sunset": 1, "été": 1}
    assert await hashtag_pages.fetch_hashtag(clean.db, "beach") is None  # no post carries it
    found = await hashtag_pages.fetch_hashtag(clean.db, "#SUNSET")
    assert found is not None
    assert (found.name, found.post_count) == ("sunset", 1)
    assert await hashtag_pages.fetch_hashtag(clean.db, "no such!") is None


async def test_a_post_deleted_before_its_hook_runs_is_not_counted(clean: Resources) -> None:
    author = await make_user(clean.db, "author")
    post = await make_published_post(clean.db, author.id, "#late")
    await post_store.mark_post_deleted(clean.db, post.id)
    assert await discover.on_post_published(clean.db, clean.redis, post) == ["late"]
    assert await counts(clean) == {"late": 0}
    assert await pairs(clean) == 0


async def test_editing_a_caption_moves_counts(clean: Resources) -> None:
    author = await make_user(clean.db, "author")
    post = await make_published_post(clean.db, author.id, "#a #b")
    await discover.on_post_published(clean.db, clean.redis, post)
    edited = post._replace(caption="#b #c")
    await post_store_update_caption(clean, post.id, "#b #c")
    assert await discover.on_post_caption_changed(clean.db, clean.redis, edited) == ["b", "c"]
    assert await counts(clean) == {"a": 0, "b": 1, "c": 1}


async def post_store_update_caption(resources: Resources, post_id: int, caption: str) -> None:
    await resources.db.execute("UPDATE posts SET caption = $2 WHERE id = $1", post_id, caption)


async def edit_caption(resources: Resources, post: PostRecord, caption: str) -> None:
    """Change the post's caption, then run the caption-changed hook on the edited post."""
    await post_store_update_caption(resources, post.id, caption)
    await discover.on_post_caption_changed(
        resources.db, resources.redis, post._replace(caption=caption)
    )


async def test_counts_are_exact_under_concurrency(clean: Resources) -> None:
    authors = [await make_user(clean.db, f"user{i}") for i in range(4)]
    captions = ["#x #y #z", "#z #y #x", "#y #x", "#x #z"]
    made = [
        await make_published_post(clean.db, authors[i % 4].id, captions[i % 4]) for i in range(40)
    ]
    await asyncio.gather(*(discover.on_post_published(clean.db, clean.redis, p) for p in made))
    await asyncio.gather(*(discover.on_post_published(clean.db, clean.redis, p) for p in made))
    assert await counts(clean) == {"x": 40, "y": 30, "z": 30}
    for post in made[:25]:
        await post_store.mark_post_deleted(clean.db, post.id)
    await asyncio.gather(
        *(discover.on_post_deleted(clean.db, clean.redis, p.id) for p in made[:25] * 2)
    )
    expected = {name: sum(name in captions[i % 4] for i in range(25, 40)) for name in "xyz"}
    assert await counts(clean) == expected
    assert await pairs(clean) == sum(expected.values())


async def test_concurrent_edits_sharing_tags_neither_deadlock_nor_miscount(
    clean: Resources,
) -> None:
    author = await make_user(clean.db, "author")
    first = await make_published_post(clean.db, author.id, "#a #b")
    second = await make_published_post(clean.db, author.id, "#c #d")
    for post in (first, second):
        await discover.on_post_published(clean.db, clean.redis, post)

    async def edit(post: PostRecord, caption: str) -> None:
        await edit_caption(clean, post, caption)

    # Each round the two posts swap their tags (each loses what the other gains: the order in
    # which unguarded edits lock tag rows crosswise), and one post is also edited twice at once.
    for _ in range(8):
        await asyncio.gather(edit(first, "#c #d #e"), edit(second, "#a #b #e"))
        await asyncio.gather(edit(first, "#a #b"), edit(second, "#c #d"), edit(first, "#a #b"))
    assert await counts(clean) == {"a": 1, "b": 1, "c": 1, "d": 1, "e": 0}
    assert await pairs(clean) == 4


async def tagged(resources: Resources, author_id: int, **kwargs: object) -> PostRecord:
    post = await make_published_post(resources.db, author_id, "#tag", **kwargs)  # type: ignore[arg-type]
    await discover.on_post_published(resources.db, resources.redis, post)
    return post


async def walk(resources: Resources, hashtag_id: int, order: HashtagOrder, first: int) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = await hashtag_pages.list_hashtag_posts(
            resources.db, hashtag_id, order=order, first=first, after=after, now=NOW
        )
        seen += [post.id for _, post in page.edges]
        if not page.has_next_page:
            return seen
        after = page.edges[-1][0]


async def test_recent_and_top_pages(clean: Resources) -> None:
    author = await make_user(clean.db, "author")
    hour = timedelta(hours=1)
    old_popular = await tagged(clean, author.id, published_at=NOW - timedelta(days=8), likes=99)
    older = await tagged(clean, author.id, published_at=NOW - timedelta(days=9))
    quiet = await tagged(clean, author.id, published_at=NOW - hour)
    liked = await tagged(clean, author.id, published_at=NOW - 5 * hour, likes=4)
    commented = await tagged(clean, author.id, published_at=NOW - 6 * hour, comments=3)
    tie_new = await tagged(clean, author.id, published_at=NOW - 2 * hour, likes=2)
    tie_old = await tagged(clean, author.id, published_at=NOW - 3 * hour, comments=1)
    other = await make_published_post(clean.db, author.id, "no tags")
    await discover.on_post_published(clean.db, clean.redis, other)
    tag = await hashtag_pages.fetch_hashtag(clean.db, "tag")
    assert tag is not None
    assert tag.post_count == 7

    recent = [quiet, tie_new, tie_old, liked, commented, old_popular, older]
    top = [commented, liked, tie_new, tie_old, quiet, old_popular, older]
    for first in (1, 2, 3, 7, 20):
        assert await walk(clean, tag.id, HashtagOrder.RECENT, first) == [p.id for p in recent]
        assert await walk(clean, tag.id, HashtagOrder.TOP, first) == [p.id for p in top]
    with pytest.raises(InvalidArgumentError):
        await hashtag_pages.list_hashtag_posts(
            clean.db, tag.id, order=HashtagOrder.TOP, first=2, after="bm9wZQ", now=NOW
        )


async def top_ids(resources: Resources, hashtag_id: int, first: int = 20) -> list[int]:
    return await walk(resources, hashtag_id, HashtagOrder.TOP, first)


async def stale_engagement(resources: Resources) -> int:
    """Tag rows whose engagement copy differs from their post's counts (should be none)."""
    value = await resources.db.fetchval(
        """
        SELECT count(*) FROM post_hashtags ph JOIN posts p ON p.id = ph.post_id
         WHERE ph.engagement <> p.like_count + 2 * p.comment_count
        """
    )
    assert isinstance(value, int)
    return value


async def test_top_follows_flushed_likes_and_comments(clean: Resources) -> None:
    author = await make_user(clean.db, "author")
    fan = await make_user(clean.db, "fan")
    hour = timedelta(hours=1)
    first = await tagged(clean, author.id, published_at=NOW - hour, likes=1)
    second = await tagged(clean, author.id, published_at=NOW - 2 * hour, likes=2)
    tag = await hashtag_pages.fetch_hashtag(clean.db, "tag")
    assert tag is not None
    assert await top_ids(clean, tag.id) == [second.id, first.id]

    await post_store.update_like_counts(clean.db, {first.id: 5, second.id: 2})  # the like flush
    assert await top_ids(clean, tag.id) == [first.id, second.id]  # 5 > 2
    comments = []
    for _ in range(2):
        async with transaction(clean.db) as conn:
            made = await comment_store.insert_comment(
                conn, post_id=second.id, author_id=fan.id, text="!"
            )
            comments.append(made)
    assert await top_ids(clean, tag.id) == [second.id, first.id]  # 2 + 2 * 2 > 5
    async with transaction(clean.db) as conn:
        await comment_store.delete_comment(conn, comments[0].id)
    assert await top_ids(clean, tag.id) == [first.id, second.id]  # 5 > 2 + 2 * 1

    # A tag added by an edit starts from the post's current engagement.
    await edit_caption(clean, second, "#tag #more")
    more = await hashtag_pages.fetch_hashtag(clean.db, "more")
    assert more is not None
    assert await top_ids(clean, more.id) == [second.id]
    assert await stale_engagement(clean) == 0


async def test_top_leaves_out_a_post_deleted_before_its_hook_ran(clean: Resources) -> None:
    author = await make_user(clean.db, "author")
    made = [
        await tagged(clean, author.id, published_at=NOW - timedelta(hours=i), likes=10 - i)
        for i in range(1, 6)
    ]
    old = await tagged(clean, author.id, published_at=NOW - timedelta(days=8), likes=50)
    await post_store.mark_post_deleted(clean.db, made[1].id)  # its delete hook has not run yet
    tag = await hashtag_pages.fetch_hashtag(clean.db, "tag")
    assert tag is not None
    expected = [made[0].id, *(p.id for p in made[2:]), old.id]
    for first in (1, 2, 3, 20):
        assert await top_ids(clean, tag.id, first) == expected


async def test_engagement_copies_stay_exact_while_edits_race_comments_and_flushes(
    clean: Resources,
) -> None:
    author = await make_user(clean.db, "author")
    fan = await make_user(clean.db, "fan")
    post = await tagged(clean, author.id, published_at=NOW - timedelta(hours=1))

    async def edits() -> None:
        for i in range(12):
            await edit_caption(clean, post, ["#tag #a", "#a #b", "#b #tag"][i % 3])

    async def comment() -> None:
        async with transaction(clean.db) as conn:
            await comment_store.insert_comment(conn, post_id=post.id, author_id=fan.id, text="!")

    async def flush(likes: int) -> None:
        await post_store.update_like_counts(clean.db, {post.id: likes})

    await asyncio.gather(
        edits(),
        *(comment() for _ in range(12)),
        *(flush(likes) for likes in range(1, 7)),
    )
    assert await stale_engagement(clean) == 0
    assert await counts(clean) == {"a": 0, "b": 1, "tag": 1}
