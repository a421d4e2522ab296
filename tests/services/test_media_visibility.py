"""One visibility rule for media, whichever query reads them: every media status in every kind of
post (or none), seen by its owner, another user and an anonymous viewer.

The rule (services.media.fetch_visible_media): the owner sees their media in every status;
anyone else sees a media item only when it is READY in a PUBLISHED post. Its SQL form
(storage.pg.media.visible_media_sql) is what the by-id query, the media loader, the post views
(Post.media, feeds) and createPost's media check evaluate; this test holds them all to it.
"""

from __future__ import annotations

import itertools

import asyncpg

from dataloaders.media import load_visible_media_by_id
from resources import Resources
from services import media, post_views
from storage.pg import media as media_store
from storage.pg import posts as post_store
from tests.factories import make_media, make_user

MEDIA_STATUSES = ("AWAITING_UPLOAD", "PROCESSING", "READY", "REJECTED", "FAILED", "DELETED")
POST_STATUSES = (None, "PROCESSING", "PUBLISHED", "REJECTED", "FAILED", "DELETED")


async def post_in(db: asyncpg.Pool, author_id: int, status: str, media_id: int) -> int:
    """A post of `status` holding `media_id` (written directly: every combination, even those
    the services never produce, such as a PUBLISHED post with media in progress)."""
    post = await post_store.insert_post(db, author_id=author_id, caption=None)
    await db.execute(
        """
        UPDATE posts SET status = $2,
               published_at = CASE WHEN $2 IN ('PUBLISHED', 'DELETED') THEN now() END,
               deleted_at = CASE WHEN $2 = 'DELETED' THEN now() END
         WHERE id = $1
        """,
        post.id,
        status,
    )
    assert await post_store.insert_post_media(db, post.id, [media_id], [None])
    return post.id


async def test_every_read_of_media_applies_the_same_rule(clean: Resources) -> None:
    owner = await make_user(clean.db, "owner")
    other = await make_user(clean.db, "other")
    placed: dict[int, tuple[str, str | None]] = {}
    post_of: dict[int, int] = {}
    for media_status, post_status in itertools.product(MEDIA_STATUSES, POST_STATUSES):
        media_id = await make_media(clean.db, owner.id, status=media_status)
        placed[media_id] = (media_status, post_status)
        if post_status is not None:
            post_of[media_id] = await post_in(clean.db, owner.id, post_status, media_id)
    ids = sorted(placed)
    public = {i for i, (m, p) in placed.items() if m == "READY" and p == "PUBLISHED"}
    assert len(public) == 1
    expected = {owner.id: set(ids), other.id: public, None: public}

    for viewer_id, visible in expected.items():
        found = await media.fetch_visible_media(clean.db, viewer_id, ids)
        assert {record.id for record in found} == visible, viewer_id
        loaded = await load_visible_media_by_id(clean.db, viewer_id, [*ids, 999_999])
        assert [record.id if record else None for record in loaded] == [
            media_id if media_id in visible else None for media_id in [*ids, 999_999]
        ]
        # Post.media (and the feeds, which select the same view columns).
        views = await post_views.page_views(
            clean.db, clean.redis, list(post_of.values()), viewer_id
        )
        shown = {record.id for view in views for record, _ in view.media}
        assert shown == visible & set(post_of), viewer_id
    # createPost's check of the media it is given, for a signed-in viewer.
    for viewer_id in (owner.id, other.id):
        async with clean.db.acquire() as conn, conn.transaction():
            locked = await media_store.lock_media_statuses(conn, ids, viewer_id)
        assert {i for i, item in locked.items() if item.visible} == expected[viewer_id]


async def test_media_follow_their_posts_visibility_to_followers_and_across_blocks(
    clean: Resources,
) -> None:
    """The media of a private account's published post are its followers' only; a block hides
    them both ways (services.visibility.may_see_post), on every read of media by id."""
    db = clean.db
    owner, fan, stranger = [await make_user(db, name) for name in ("owner", "fan", "stranger")]
    media_id = await make_media(db, owner.id)
    await post_in(db, owner.id, "PUBLISHED", media_id)
    await db.execute("UPDATE users SET is_private = true WHERE id = $1", owner.id)
    await db.execute(
        "INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)", fan.id, owner.id
    )

    async def seen_by(viewer_id: int | None) -> tuple[bool, bool, bool]:
        """(by id, through the loader, createPost's check) for this viewer."""
        found = await media.fetch_visible_media(db, viewer_id, [media_id])
        (loaded,) = await load_visible_media_by_id(db, viewer_id, [media_id])
        locked = True
        if viewer_id is not None:
            async with db.acquire() as conn, conn.transaction():
                statuses = await media_store.lock_media_statuses(conn, [media_id], viewer_id)
            locked = statuses[media_id].visible
        return bool(found), loaded is not None, locked

    everywhere, nowhere = (True, True, True), (False, False, False)
    assert await seen_by(owner.id) == everywhere
    assert await seen_by(fan.id) == everywhere
    assert await seen_by(stranger.id) == nowhere
    assert (await seen_by(None))[:2] == nowhere[:2]
    await db.execute("UPDATE users SET is_private = false WHERE id = $1", owner.id)
    assert await seen_by(stranger.id) == everywhere
    assert (await seen_by(None))[:2] == everywhere[:2]
    for blocker, blocked in ((owner, stranger), (stranger, owner)):
        await db.execute(
            "INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)", blocker.id, blocked.id
        )
        assert await seen_by(stranger.id) == nowhere
        assert await seen_by(fan.id) == everywhere
        await db.execute("DELETE FROM blocks")
