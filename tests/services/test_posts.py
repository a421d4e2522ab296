"""Posts: validation that writes nothing, publish when every media item is READY, delete."""

from __future__ import annotations

import pytest

from resources import Resources
from services import posts
from services.errors import DomainError, UserErrorCode
from storage import redis_keys
from storage.pg import media as media_store
from storage.pg.users import UserRecord
from tests.factories import make_media, make_user, viewer_of


def codes(
    error: pytest.ExceptionInfo[DomainError],
) -> list[tuple[UserErrorCode, tuple[str, ...] | None]]:
    return [(item.code, item.field) for item in error.value.errors]


@pytest.fixture
async def author(clean: Resources) -> UserRecord:
    return await make_user(clean.db, "author")


async def post_count(resources: Resources, user: UserRecord) -> int:
    value = await resources.db.fetchval("SELECT post_count FROM users WHERE id = $1", user.id)
    assert isinstance(value, int)
    return value


async def test_a_post_of_ready_media_is_published_at_once(
    clean: Resources, author: UserRecord
) -> None:
    media_ids = [await make_media(clean.db, author.id) for _ in range(3)]
    post = await posts.create_post(
        clean.posts,
        viewer_of(author),
        media_ids=media_ids,
        caption="  Sunset #Beach  ",
        alt_texts=["first", ""],
    )
    assert (post.status, post.caption) == ("PUBLISHED", "Sunset #Beach")
    assert post.published_at is not None
    assert await post_count(clean, author) == 1
    rows = await clean.db.fetch(
        "SELECT media_id, position, alt_text FROM post_media ORDER BY position"
    )
    assert [(r["media_id"], r["position"], r["alt_text"]) for r in rows] == [
        (media_ids[0], 0, "first"),
        (media_ids[1], 1, None),
        (media_ids[2], 2, None),
    ]
    assert await clean.redis.get(redis_keys.post_like_count(post.id)) == b"0"
    assert sorted(job.job_id or "" for job in await clean.redis.queued_jobs()) == [
        f"fan_out_post:{post.id}",
        f"search_index_post:{post.id}:published",
    ]


async def test_a_post_waits_for_its_media_and_follows_their_fate(
    clean: Resources, author: UserRecord
) -> None:
    ready, pending = (
        await make_media(clean.db, author.id),
        await make_media(clean.db, author.id, status="PROCESSING"),
    )
    post = await posts.create_post(
        clean.posts, viewer_of(author), media_ids=[ready, pending], caption=None, alt_texts=[]
    )
    assert post.status == "PROCESSING"
    assert await post_count(clean, author) == 0
    assert await posts.settle_posts_of_media(clean.posts, ready) == []
    await clean.db.execute("UPDATE media SET status = 'READY' WHERE id = $1", pending)
    (published,) = await posts.settle_posts_of_media(clean.posts, pending)
    assert (published.id, published.status) == (post.id, "PUBLISHED")
    assert await post_count(clean, author) == 1

    other = await make_media(clean.db, author.id, status="PROCESSING")
    waiting = await posts.create_post(
        clean.posts, viewer_of(author), media_ids=[other], caption=None, alt_texts=[]
    )
    await media_store.mark_failed(clean.db, other, status="REJECTED", reason="nope")
    assert await posts.settle_posts_of_media(clean.posts, other) == []
    status = await clean.db.fetchval("SELECT status FROM posts WHERE id = $1", waiting.id)
    assert status == "REJECTED"
    assert await post_count(clean, author) == 1


async def test_create_post_refusals_write_nothing(clean: Resources, author: UserRecord) -> None:
    stranger = await make_user(clean.db, "stranger")
    mine = await make_media(clean.db, author.id)
    theirs = await make_media(clean.db, stranger.id)  # a READY draft: hidden from the author
    theirs_published = await make_media(clean.db, stranger.id)
    await posts.create_post(
        clean.posts,
        viewer_of(stranger),
        media_ids=[theirs_published],
        caption=None,
        alt_texts=[],
    )
    awaiting = await make_media(clean.db, author.id, status="AWAITING_UPLOAD")
    rejected = await make_media(clean.db, author.id, status="REJECTED")
    ITEM_0, ITEM_1 = ("media", "0", "mediaId"), ("media", "1", "mediaId")
    cases = [
        ([], None, [], [(UserErrorCode.INVALID_INPUT, ("media",))]),
        ([mine] * 2, None, [], [(UserErrorCode.INVALID_INPUT, ("media",))]),
        (list(range(1, 12)), None, [], [(UserErrorCode.INVALID_INPUT, ("media",))]),
        ([mine], "x" * 2201, [], [(UserErrorCode.INVALID_INPUT, ("caption",))]),
        ([mine], None, ["a", "b"], [(UserErrorCode.INVALID_INPUT, ("media",))]),
        ([mine, theirs_published], None, [], [(UserErrorCode.FORBIDDEN, ITEM_1)]),
        ([mine, theirs], None, [], [(UserErrorCode.NOT_FOUND, ITEM_1)]),
        ([mine, 999_999], None, [], [(UserErrorCode.NOT_FOUND, ITEM_1)]),
        ([awaiting], None, [], [(UserErrorCode.MEDIA_NOT_READY, ITEM_0)]),
        ([rejected], None, [], [(UserErrorCode.MEDIA_NOT_READY, ITEM_0)]),
    ]
    for media_ids, caption, alt_texts, expected in cases:
        with pytest.raises(DomainError) as error:
            await posts.create_post(
                clean.posts,
                viewer_of(author),
                media_ids=media_ids,
                caption=caption,
                alt_texts=alt_texts,
            )
        assert codes(error) == expected, media_ids
    assert await clean.db.fetchval("SELECT count(*) FROM posts") == 1  # the stranger's
    await posts.create_post(
        clean.posts, viewer_of(author), media_ids=[mine], caption=None, alt_texts=[]
    )
    with pytest.raises(DomainError) as error:
        await posts.create_post(
            clean.posts, viewer_of(author), media_ids=[mine], caption=None, alt_texts=[]
        )
    assert codes(error) == [(UserErrorCode.ALREADY_EXISTS, ("media",))]
    assert await clean.db.fetchval("SELECT count(*) FROM posts") == 2


async def test_delete_post_by_its_author_only(clean: Resources, author: UserRecord) -> None:
    stranger = await make_user(clean.db, "stranger")
    post = await posts.create_post(
        clean.posts,
        viewer_of(author),
        media_ids=[await make_media(clean.db, author.id)],
        caption=None,
        alt_texts=[],
    )
    with pytest.raises(DomainError) as error:
        await posts.delete_post(clean.posts, viewer_of(stranger), post.id)
    assert codes(error) == [(UserErrorCode.FORBIDDEN, ("postId",))]
    assert await post_count(clean, author) == 1
    assert await posts.delete_post(clean.posts, viewer_of(author), post.id) == post.id
    assert await post_count(clean, author) == 0
    page = await posts.list_author_posts(clean.db, None, author.id, first=10, after=None)
    assert page.edges == []
    assert await posts.fetch_visible_post(clean.db, author.id, post.id) is None
    with pytest.raises(DomainError) as error:
        await posts.delete_post(clean.posts, viewer_of(author), post.id)
    assert codes(error) == [(UserErrorCode.NOT_FOUND, ("postId",))]


async def test_profile_grid_pages_newest_first(clean: Resources, author: UserRecord) -> None:
    created = [
        await posts.create_post(
            clean.posts,
            viewer_of(author),
            media_ids=[await make_media(clean.db, author.id)],
            caption=str(i),
            alt_texts=[],
        )
        for i in range(7)
    ]
    seen, after = [], None
    while True:
        page = await posts.list_author_posts(clean.db, None, author.id, first=3, after=after)
        seen += [post.id for _, post in page.edges]
        if not page.has_next_page:
            break
        after = page.edges[-1][0]
    assert seen == [post.id for post in reversed(created)]
