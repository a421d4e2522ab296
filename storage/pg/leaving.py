"""Queries of leaving: deactivation, scheduled deletion, and the erasure of an account in
batches (services/erasure.py runs them in order; each is idempotent)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from storage.pg import Db


class Reactivation(NamedTuple):
    """What a log-in undid."""

    was_deactivated: bool
    deletion_cancelled: bool


async def mark_deactivated(db: Db, user_id: int, *, erase_after: datetime | None) -> bool:
    """Deactivate the account, and schedule its erasure at `erase_after` (None: keep any
    pending deletion as it is). False when the account is gone or already being erased."""
    status = await db.execute(
        """
        UPDATE users SET deactivated_at = coalesce(deactivated_at, now()),
                         erase_after = coalesce($2, erase_after)
         WHERE id = $1 AND (erase_after IS NULL OR erase_after > now())
        """,
        user_id,
        erase_after,
    )
    return status == "UPDATE 1"


async def reactivate(db: Db, user_id: int) -> Reactivation | None:
    """At log-in: end a deactivation and cancel a pending deletion. None when the account is
    gone or its deletion already took effect (the erasure owns it: no log-in). Locks the row,
    so an erasure that starts meanwhile sees the cancellation (services/erasure.claim)."""
    row = await db.fetchrow(
        """
        WITH old AS (SELECT id, deactivated_at, erase_after FROM users WHERE id = $1 FOR UPDATE)
        UPDATE users u SET deactivated_at = NULL, erase_after = NULL
          FROM old
         WHERE u.id = old.id AND (old.erase_after IS NULL OR old.erase_after > now())
        RETURNING old.deactivated_at IS NOT NULL AS was_deactivated,
                  old.erase_after IS NOT NULL AS deletion_cancelled
        """,
        user_id,
    )
    return None if row is None else Reactivation(*row)


async def deletion_took_effect(db: Db, user_id: int) -> bool:
    """Whether the account's deletion took effect (its grace is over: the erasure owns it)."""
    return bool(
        await db.fetchval(
            "SELECT erase_after <= now() FROM users WHERE id = $1 AND erase_after IS NOT NULL",
            user_id,
        )
    )


async def fetch_leaving_state(db: Db, user_id: int) -> tuple[datetime | None, datetime | None]:
    """(deactivated_at, erase_after) of the account ((None, None) when it is gone)."""
    row = await db.fetchrow("SELECT deactivated_at, erase_after FROM users WHERE id = $1", user_id)
    return (None, None) if row is None else (row["deactivated_at"], row["erase_after"])


async def fetch_due_erasures(db: Db, *, limit: int) -> list[tuple[int, datetime]]:
    """(user id, erase_after) of accounts whose deletion has taken effect, oldest first."""
    rows = await db.fetch(
        "SELECT id, erase_after FROM users WHERE erase_after <= now()"
        " ORDER BY erase_after, id LIMIT $1",
        limit,
    )
    return [(row["id"], row["erase_after"]) for row in rows]


async def claim_erasure(db: Db, user_id: int) -> tuple[str, str] | None:
    """(username, email) of the account when its deletion has taken effect, the row locked
    for the caller's transaction (a log-in racing it waits, then finds it erasing); None
    otherwise (cancelled, not due, or already erased)."""
    row = await db.fetchrow(
        "SELECT username, email FROM users WHERE id = $1 AND erase_after <= now() FOR UPDATE",
        user_id,
    )
    return None if row is None else (row["username"], row["email"])


# --- posts and media ------------------------------------------------------------------------


async def fetch_post_batch(db: Db, author_id: int, *, limit: int) -> list[int]:
    """Ids of the author's posts, in any status (a batch to erase)."""
    rows = await db.fetch(
        "SELECT id FROM posts WHERE author_id = $1 ORDER BY id LIMIT $2", author_id, limit
    )
    return [row["id"] for row in rows]


async def fetch_media_ids_of_posts(db: Db, post_ids: Sequence[int]) -> list[int]:
    rows = await db.fetch(
        "SELECT media_id FROM post_media WHERE post_id = ANY($1::bigint[]) ORDER BY media_id",
        post_ids,
    )
    return [row["media_id"] for row in rows]


async def delete_posts(db: Db, post_ids: Sequence[int], media_ids: Sequence[int]) -> None:
    """Delete the posts (their post_media, likes, comments, hashtag links and notifications
    cascade) and then their media rows (run in a transaction; the files go first)."""
    await db.execute("DELETE FROM posts WHERE id = ANY($1::bigint[])", post_ids)
    await db.execute("DELETE FROM media WHERE id = ANY($1::bigint[])", media_ids)


async def fetch_own_media_batch(db: Db, owner_id: int, *, limit: int) -> list[int]:
    """Ids of the owner's remaining media (drafts, uploads in progress, picture sources)."""
    rows = await db.fetch(
        "SELECT id FROM media WHERE owner_id = $1 ORDER BY id LIMIT $2", owner_id, limit
    )
    return [row["id"] for row in rows]


async def delete_media(db: Db, media_ids: Sequence[int]) -> None:
    """Delete media rows (no post refers to them any more). Profile pictures that came from
    them keep their crops (media_id set NULL)."""
    await db.execute("DELETE FROM media WHERE id = ANY($1::bigint[])", media_ids)


# --- comments, likes, notifications ---------------------------------------------------------


async def delete_comment_batch(db: Db, author_id: int, *, limit: int) -> int:
    """Delete up to `limit` of the author's comments and uncount them from their posts, in one
    statement. Returns how many were deleted."""
    deleted = await db.fetchval(
        """
        WITH gone AS (
            DELETE FROM comments
             WHERE id IN (SELECT id FROM comments WHERE author_id = $1 ORDER BY id LIMIT $2)
            RETURNING post_id
        ), counted AS (
            SELECT post_id, count(*) AS n FROM gone GROUP BY post_id
        ), uncounted AS (
            UPDATE posts p SET comment_count = p.comment_count - counted.n
              FROM counted WHERE p.id = counted.post_id
            RETURNING 1
        )
        SELECT count(*) FROM gone
        """,
        author_id,
        limit,
    )
    return int(deleted)


async def fetch_liked_post_batch(db: Db, user_id: int, *, limit: int) -> list[int]:
    rows = await db.fetch(
        "SELECT post_id FROM likes WHERE user_id = $1 ORDER BY post_id LIMIT $2", user_id, limit
    )
    return [row["post_id"] for row in rows]


async def delete_like(db: Db, post_id: int, user_id: int) -> bool:
    """Delete the like whatever the post's status; False when there was none."""
    status = await db.execute(
        "DELETE FROM likes WHERE post_id = $1 AND user_id = $2", post_id, user_id
    )
    return status == "DELETE 1"


async def fetch_recipients_of_actor(db: Db, actor_id: int, *, limit: int) -> list[int]:
    """Other users whose notification groups hold events of `actor_id`."""
    rows = await db.fetch(
        """
        SELECT DISTINCT n.recipient_id
          FROM notification_actors a JOIN notifications n ON n.id = a.notification_id
         WHERE a.actor_id = $1 AND n.recipient_id <> $1
         ORDER BY n.recipient_id LIMIT $2
        """,
        actor_id,
        limit,
    )
    return [row["recipient_id"] for row in rows]


async def retract_actor_events(db: Db, recipient_id: int, actor_id: int) -> list[int]:
    """Take the actor's events out of the recipient's groups (migration 0014's function);
    the ids of the groups that changed or disappeared."""
    rows = await db.fetch(
        "SELECT notification_id FROM retract_actor_events($1, $2)", recipient_id, actor_id
    )
    return [row["notification_id"] for row in rows]


async def delete_own_notification_batch(db: Db, recipient_id: int, *, limit: int) -> int:
    status = await db.execute(
        """
        DELETE FROM notifications
         WHERE id IN (SELECT id FROM notifications WHERE recipient_id = $1 LIMIT $2)
        """,
        recipient_id,
        limit,
    )
    return int(status.split()[-1])


# --- the follow graph and the rest ----------------------------------------------------------


async def fetch_follow_batch(db: Db, user_id: int, *, limit: int) -> list[tuple[int, int]]:
    """(follower, followee) pairs with the user on either side."""
    rows = await db.fetch(
        """
        (SELECT follower_id, followee_id FROM follows WHERE follower_id = $1 LIMIT $2)
        UNION ALL
        (SELECT follower_id, followee_id FROM follows WHERE followee_id = $1 LIMIT $2)
        """,
        user_id,
        limit,
    )
    return [(row["follower_id"], row["followee_id"]) for row in rows]


async def fetch_follower_ids(db: Db, followee_id: int, *, after: int, limit: int) -> list[int]:
    rows = await db.fetch(
        "SELECT follower_id FROM follows WHERE followee_id = $1 AND follower_id > $2"
        " ORDER BY follower_id LIMIT $3",
        followee_id,
        after,
        limit,
    )
    return [row["follower_id"] for row in rows]


async def mark_posts_deleted(db: Db, post_ids: list[int]) -> None:
    """Mark the posts DELETED (keeping an earlier deletion time): every read path then hides
    them, and reindexing them removes their search documents."""
    await db.execute(
        "UPDATE posts SET status = 'DELETED', deleted_at = coalesce(deleted_at, now())"
        " WHERE id = ANY($1::bigint[])",
        post_ids,
    )


async def delete_relations(db: Db, user_id: int) -> None:
    """Follow requests, blocks and mutes with the user on either side (no counters)."""
    await db.execute(
        "DELETE FROM follow_requests WHERE requester_id = $1 OR target_id = $1", user_id
    )
    await db.execute("DELETE FROM blocks WHERE blocker_id = $1 OR blocked_id = $1", user_id)
    await db.execute("DELETE FROM mutes WHERE muter_id = $1 OR muted_id = $1", user_id)


async def delete_ranker_log(db: Db, user_id: int) -> None:
    """What the feed ranker logged about the user as a viewer (served pages, impressions).
    The user's posts served to others stay in others' rows as bare ids until the log expires
    (ranker_retention_days): they name no one once the posts are gone."""
    await db.execute("DELETE FROM ranker_served_pages WHERE viewer_id = $1", user_id)
    await db.execute("DELETE FROM ranker_impressions WHERE viewer_id = $1", user_id)


async def fetch_export_keys(db: Db, user_id: int) -> list[str]:
    rows = await db.fetch(
        "SELECT blob_key FROM data_exports WHERE user_id = $1 AND blob_key IS NOT NULL", user_id
    )
    return [row["blob_key"] for row in rows]


async def delete_account(db: Db, user_id: int) -> bool:
    """The last step: the account's remaining rows (tokens, sessions, exports) and the user
    itself, whose username and email become free. False when it was gone already."""
    await db.execute("DELETE FROM account_tokens WHERE user_id = $1", user_id)
    await db.execute("DELETE FROM data_exports WHERE user_id = $1", user_id)
    await db.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
    status = await db.execute("DELETE FROM users WHERE id = $1", user_id)
    return status == "DELETE 1"
