"""Posts: create (1 to 10 of the viewer's media), publish when every media item is READY,
delete, and the profile grid."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from services import discover, notifications, visibility
from services.auth import Viewer
from services.cursors import decode_time_id_cursor, encode_time_id_cursor
from services.errors import DomainError, UserError, UserErrorCode
from services.hashtags import parse_mentions
from services.pagination import (
    Page,
    check_page_size,
    page_of,
)
from services.post_views import PostView
from services.social import SocialDeps
from services.text import clean_text
from storage import counters, jobs
from storage.pg import Db, transaction
from storage.pg import media as media_store
from storage.pg import posts as post_store
from storage.pg.media import LockedMedia
from storage.pg.posts import PostRecord

MAX_MEDIA_PER_POST = 10
MAX_CAPTION_LENGTH = 2200
MAX_ALT_TEXT_LENGTH = 1000
_REFUSED_MEDIA_STATUSES = ("REJECTED", "FAILED")
"""A post containing media in one of these statuses ends in that status too."""


@dataclass(frozen=True, slots=True)
class PostDeps:
    db: Db
    queue: ArqRedis
    """Redis: the arq queue and the like counters."""
    social: SocialDeps
    """For the per-user posting allowance."""


def _check_post_input(media_ids: list[int], alt_texts: list[str | None]) -> list[UserError]:
    problems = []
    if not 1 <= len(media_ids) <= MAX_MEDIA_PER_POST:
        problems.append(
            UserError(
                UserErrorCode.INVALID_INPUT,
                f"A post has 1 to {MAX_MEDIA_PER_POST} media items.",
                ("media",),
            )
        )
    elif len(set(media_ids)) != len(media_ids):
        problems.append(
            UserError(UserErrorCode.INVALID_INPUT, "A media item appears twice.", ("media",))
        )
    if len(alt_texts) > len(media_ids):
        problems.append(
            UserError(
                UserErrorCode.INVALID_INPUT, "At most one alt text per media item.", ("media",)
            )
        )
    return problems


def _clean_caption(caption: str | None) -> str | UserError | None:
    if caption is None:
        return None
    return clean_text(caption, field=("caption",), max_length=MAX_CAPTION_LENGTH, multiline=True)


def _clean_alt_text(text: str | None, index: int) -> str | UserError | None:
    if text is None:
        return None
    return clean_text(
        text, field=("media", str(index), "altText"), max_length=MAX_ALT_TEXT_LENGTH, multiline=True
    )


async def create_post(
    deps: PostDeps,
    viewer: Viewer,
    *,
    media_ids: list[int],
    caption: str | None,
    alt_texts: list[str | None],
) -> PostRecord:
    """Create a post of the viewer's own uploaded media; PUBLISHED at once when every item is
    READY, else PROCESSING until they are (see `settle_posts_of_media`).

    Raises DomainError: INVALID_INPUT, BLOCKED (the caption mentions an account the viewer
    blocked; a mention of one who blocked the viewer stays plain text: no notification),
    NOT_FOUND (also someone else's media the viewer may not
    see: not in a published post) / FORBIDDEN (someone else's published media),
    MEDIA_NOT_READY (not uploaded yet, or refused), ALREADY_EXISTS (already in a post),
    RATE_LIMITED; nothing is written then. Side effects: a post and its media rows; on publish,
    the author's post count, a like counter and a fan-out job (after the commit).
    """
    cleaned_caption = _clean_caption(caption)
    texts = [_clean_alt_text(text, index) for index, text in enumerate(alt_texts)]
    problems = [
        *_check_post_input(media_ids, alt_texts),
        *(text for text in (cleaned_caption, *texts) if isinstance(text, UserError)),
    ]
    if problems:
        raise DomainError(*problems)
    assert not isinstance(cleaned_caption, UserError)
    alt_text_rows = [text for text in texts if not isinstance(text, UserError)]
    alt_text_rows += [None] * (len(media_ids) - len(alt_text_rows))
    await deps.social.ensure_allowed("post", viewer.user_id)
    async with transaction(deps.db) as conn:
        await visibility.refuse_mentions_of_blocked(
            conn, viewer.user_id, parse_mentions(cleaned_caption), field="caption"
        )
        # FOR SHARE: a worker marking one of these READY waits for this commit, so its
        # settle_posts_of_media sees the post (and this read sees its READY otherwise).
        statuses = await media_store.lock_media_statuses(conn, media_ids, viewer.user_id)
        _check_media_usable(viewer, media_ids, statuses)
        post = await post_store.insert_post(conn, author_id=viewer.user_id, caption=cleaned_caption)
        if not await post_store.insert_post_media(conn, post.id, media_ids, alt_text_rows):
            raise DomainError.single(
                UserErrorCode.ALREADY_EXISTS, "A media item is already in a post.", "media"
            )
        if all(item.status == "READY" for item in statuses.values()):
            published = await post_store.publish_post(conn, post.id)
            assert published is not None
            post = published
    await deps.social.count("post", viewer.user_id)
    if post.status == "PUBLISHED":
        await _announce_published(deps, post)
    return post


def _check_media_usable(
    viewer: Viewer, media_ids: list[int], statuses: dict[int, LockedMedia]
) -> None:
    """Raises DomainError for the first media item the viewer may not post; its field is that
    item's path (["media", "<index>", "mediaId"])."""
    for index, media_id in enumerate(media_ids):
        field = ("media", str(index), "mediaId")
        if media_id not in statuses or not statuses[media_id].visible:
            # Someone else's media the viewer may not see (in no published post) is hidden from
            # them (services.media.fetch_visible_media): do not confirm that it exists.
            raise DomainError(UserError(UserErrorCode.NOT_FOUND, "No such media.", field))
        owner_id, status, _ = statuses[media_id]
        if owner_id != viewer.user_id:
            raise DomainError(
                UserError(UserErrorCode.FORBIDDEN, "You can only post your own media.", field)
            )
        if status not in ("PROCESSING", "READY"):
            raise DomainError(
                UserError(
                    UserErrorCode.MEDIA_NOT_READY,
                    "Complete the upload of every media item first; refused media cannot be "
                    "posted.",
                    field,
                )
            )


async def settle_posts_of_media(deps: PostDeps, media_id: int) -> list[PostRecord]:
    """After a media item reached a final status: publish each PROCESSING post containing it
    whose media are all READY, or end it REJECTED / FAILED when one of them was.

    Returns the posts that were published. Side effects as for a publish in create_post.
    """
    published = []
    for post_id in await post_store.fetch_processing_posts_of_media(deps.db, media_id):
        statuses = await post_store.fetch_media_statuses_of_post(deps.db, post_id)
        refused = next((s for s in statuses if s in _REFUSED_MEDIA_STATUSES), None)
        if refused:
            await post_store.end_post_unpublished(deps.db, post_id, refused)
        elif all(status == "READY" for status in statuses):
            post = await post_store.publish_post(deps.db, post_id)
            if post is not None:
                await _announce_published(deps, post)
                published.append(post)
    return published


async def _announce_published(deps: PostDeps, post: PostRecord) -> None:
    """After a publish commits: the like counter, the fan-out job, caption @mentions."""
    await counters.start_like_count(deps.queue, post.id)
    await jobs.enqueue_fan_out_post(deps.queue, post.id)
    deliveries = await notifications.record_caption_mentions(
        deps.db, post_id=post.id, author_id=post.author_id, caption=post.caption
    )
    await notifications.announce(deps.queue, deliveries)
    await discover.on_post_published(deps.db, deps.queue, post)


async def delete_post(deps: PostDeps, viewer: Viewer, post_id: int) -> int:
    """Delete the viewer's post: it leaves profiles, counts and (filtered at read) every feed,
    and the notifications about it are deleted; a job then removes its media's files
    (services.media.delete_post_files).

    Raises DomainError NOT_FOUND (also for a post the viewer cannot see) / FORBIDDEN (someone
    else's published post). Returns the id of the deleted post.
    """
    post = await fetch_visible_post(deps.db, viewer.user_id, post_id)
    # A post the viewer cannot see (deleted, or someone else's unpublished one) is NOT_FOUND:
    # FORBIDDEN would confirm that it exists.
    if post is None:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such post.", "postId")
    if post.author_id != viewer.user_id:
        raise DomainError.single(UserErrorCode.FORBIDDEN, "This post is not yours.", "postId")
    await post_store.mark_post_deleted(deps.db, post_id)
    await discover.on_post_deleted(deps.db, deps.queue, post_id)
    await jobs.enqueue_delete_post_files(deps.queue, post_id)
    return post_id


def is_visible(view: PostView, viewer_id: int | None) -> bool:
    """services.visibility.may_see_post for a post view (which carries whether the viewer may
    see its author's content, read with it)."""
    return visibility.post_status_visible(view.post, viewer_id) and view.author_content_visible


async def fetch_visible_post(db: Db, viewer_id: int | None, post_id: int) -> PostRecord | None:
    """The post if this viewer may see it (services.visibility.may_see_post, in SQL), else
    None."""
    found = await post_store.fetch_visible_posts_by_ids(db, [post_id], viewer_id)
    return found[0] if found else None


async def list_author_posts(
    db: Db, viewer_id: int | None, author_id: int, *, first: int, after: str | None
) -> Page[PostRecord]:
    """The author's published posts, newest first (profile grid), one keyset page; empty when
    the viewer may not see the author's content (services.visibility, in SQL)."""
    limit = check_page_size(first)
    rows = await post_store.fetch_author_posts_page(
        db, author_id, viewer_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    # Published posts always have published_at (a CHECK on posts): the filter only narrows.
    return page_of(
        [
            (encode_time_id_cursor(post.published_at, post.id), post)
            for post in rows
            if post.published_at is not None
        ],
        limit,
    )
