"""Queries behind the home feed: followers for fan-out, the pull side (celebrities, the viewer's
own posts, the pure pull-model feed), read-time checks, and the inputs of ranking.

Feed order is (published_at, id), both descending; a keyset `before` is a FeedKey
(published_at in microseconds since the epoch, post id) and selects strictly older entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import asyncpg

from storage.feed.keys import FeedKey
from storage.micros import datetime_of, micros_of
from storage.pg import Db
from storage.pg.post_views import VIEW_WIDTH, PostViewRow, view_columns, view_from_row
from storage.pg.visibility import not_blocked_sql, not_muted_sql


class FeedPost(NamedTuple):
    """A post as the feed sees it: who wrote it and when it was published."""

    id: int
    author_id: int
    key: FeedKey
    """(published_at in microseconds, id): the feed's sort key, computed once."""


@dataclass(frozen=True, slots=True)
class PostState:
    id: int
    author_id: int
    status: str
    published_at: datetime | None
    author_follower_count: int


@dataclass(frozen=True, slots=True)
class PostEngagement:
    like_count: int
    """The last flushed snapshot (at most one flush interval old)."""
    comment_count: int
    published_at: datetime


@dataclass(frozen=True, slots=True)
class AuthorAffinity:
    likes: int
    """Likes the viewer gave the author's posts in the period."""
    comments: int
    """Comments the viewer wrote on the author's posts in the period."""


def _post_state(row: asyncpg.Record) -> PostState:
    return PostState(
        row["id"], row["author_id"], row["status"], row["published_at"], row["follower_count"]
    )


def _feed_post(post_id: int, author_id: int, published_at: datetime) -> FeedPost:
    return FeedPost(post_id, author_id, (micros_of(published_at), post_id))


def _feed_posts(rows: Sequence[asyncpg.Record]) -> list[FeedPost]:
    return [_feed_post(row["id"], row["author_id"], row["published_at"]) for row in rows]


_NO_LATER = (datetime.max.replace(tzinfo=UTC), 2**63 - 1)


_NEWEST_OF_EACH_AUTHOR = """\
         CROSS JOIN LATERAL (
               SELECT id, author_id, published_at FROM posts
                WHERE author_id = a.author_id AND status = 'PUBLISHED'
                  AND (published_at, id) < ($2, $3)
                ORDER BY published_at DESC, id DESC
                LIMIT $4
         ) p
         ORDER BY p.published_at DESC, p.id DESC
         LIMIT $4"""
"""The pull of a feed page from the authors `a` (a row source with `author_id`): each author's
newest `$4` published posts before the keyset ($2, $3), by a short index range scan, merged
into the newest `$4` of all."""


def _below(before: FeedKey | None) -> tuple[datetime, int]:
    """The keyset `(published_at, id) < (at, id)` selecting keys older than `before` (None:
    all). A sentinel instead of `$n IS NULL OR ...` keeps the condition usable as an index
    bound of posts_author_published_idx (an index-only scan that stops after LIMIT rows)."""
    return (datetime_of(before[0]), before[1]) if before else _NO_LATER


async def fetch_post_state(db: Db, post_id: int) -> PostState | None:
    """The post's author, status and publish time, with its author's follower count."""
    row = await db.fetchrow(
        """
        SELECT p.id, p.author_id, p.status, p.published_at, u.follower_count
          FROM posts p JOIN users u ON u.id = p.author_id
         WHERE p.id = $1
        """,
        post_id,
    )
    return None if row is None else _post_state(row)


async def fetch_follower_count(db: Db, user_id: int) -> int | None:
    """The user's follower count; None for a missing user."""
    count: int | None = await db.fetchval("SELECT follower_count FROM users WHERE id = $1", user_id)
    return count


async def fetch_follower_batch_bounds(db: Db, author_id: int, batch_size: int) -> list[int]:
    """Follower ids that split the author's followers, in id order, into batches of
    `batch_size`: with bounds b1 < b2 < ... the batches are (0, b1], (b1, b2], ..., (bk, end).
    Empty when one batch holds them all. One index-only scan."""
    rows = await db.fetch(
        """
        SELECT follower_id FROM (
            SELECT follower_id, row_number() OVER (ORDER BY follower_id) AS n,
                   count(*) OVER () AS total
              FROM follows WHERE followee_id = $1
        ) numbered
         WHERE n % $2 = 0 AND n < total
         ORDER BY follower_id
        """,
        author_id,
        batch_size,
    )
    return [row["follower_id"] for row in rows]


async def fetch_follower_ids(
    db: Db, author_id: int, *, after: int, until: int | None, limit: int | None = None
) -> list[int]:
    """The author's follower ids in (after, until] (until None: no upper bound), ascending,
    at most `limit` (None: all)."""
    rows = await db.fetch(
        """
        SELECT follower_id FROM follows
         WHERE followee_id = $1 AND follower_id > $2 AND follower_id <= $3
         ORDER BY follower_id
         LIMIT $4
        """,
        author_id,
        after,
        2**63 - 1 if until is None else until,
        limit,
    )
    return [row["follower_id"] for row in rows]


# CTE `followed_celebrities` ($1: viewer, $2: threshold): the accounts the viewer follows that
# have at least the threshold of followers. Shaped for prepared statements, whose generic plan
# does not know the threshold: BETWEEN gets a small row estimate (an index scan of
# users_follower_count_id_idx, where a bare `>=` is guessed at a third of all users and read in
# full); the ARRAY(...) sub-select runs once, before anything else, so the planner cannot start
# from the viewer's follow list; the LATERAL ... LIMIT 1 probes follows once per celebrity. So
# the cost grows with the number of celebrities, never with how many accounts the viewer
# follows. (With the same estimate in generic and custom plans, PostgreSQL keeps the generic
# plan and skips planning on every call.)
_CELEBRITIES = """
    followed_celebrities AS (
        SELECT c.id
          FROM unnest(ARRAY(
               SELECT id FROM users WHERE follower_count BETWEEN $2 AND 2147483647
          )) AS c(id)
         CROSS JOIN LATERAL (
               SELECT 1 FROM follows f WHERE f.follower_id = $1 AND f.followee_id = c.id LIMIT 1
         ) followed
    )"""


# FROM ... WHERE of the posts among an id array (the placeholder `{ids}`: its parameter) that
# belong in the feed of viewer $1 now: PUBLISHED, and by the viewer or by an account the viewer
# follows, has not muted and has no block with (_in_feed_of). One follows probe per post
# (LATERAL ... LIMIT 1): an EXISTS under OR would be planned
# as a hash of every account the viewer follows, which grows with the follow count. (unnest
# rather than `= ANY`: its small row estimate lets the prepared statement settle on its generic
# plan, saving a planning per call.) Composed into each query that needs it: one round trip each.
def _in_feed_of(author: str) -> str:
    """The author (an id expression) may appear in the feed of viewer $1 as far as blocks and
    mutes go: no block either way, not muted by the viewer (storage.pg.visibility; three
    primary-key probes per row, whatever the number of the viewer's blocks and mutes)."""
    return f"{not_blocked_sql(author, '$1')} AND {not_muted_sql(author, '$1')}"


_VISIBLE_AMONG = (
    """
          FROM unnest({ids}::bigint[]) AS candidate(id)
          JOIN posts p ON p.id = candidate.id
          LEFT JOIN LATERAL (
               SELECT true AS yes FROM follows f
                WHERE f.follower_id = $1 AND f.followee_id = p.author_id LIMIT 1
          ) followed ON true
         WHERE p.status = 'PUBLISHED'
           AND (p.author_id = $1 OR (followed.yes AND """
    + _in_feed_of("p.author_id").replace("{", "{{").replace("}", "}}")
    + "))"
)


async def fetch_celebrity_followees(db: Db, viewer_id: int, threshold: int) -> list[int]:
    """The accounts the viewer follows that have at least `threshold` followers (one query;
    see _CELEBRITIES for why its cost does not grow with the viewer's follow count)."""
    rows = await db.fetch(
        f"WITH {_CELEBRITIES} SELECT id FROM followed_celebrities ORDER BY id",
        viewer_id,
        threshold,
    )
    return [row["id"] for row in rows]


async def fetch_recent_posts_of_authors(
    db: Db, author_ids: Sequence[int], *, before: FeedKey | None, limit: int
) -> list[FeedPost]:
    """The newest `limit` published posts of all these authors together, older than `before`.

    One query: a short index range scan per author (LATERAL ... LIMIT), then one merge; an
    `author_id = ANY(...) ORDER BY ... LIMIT` would read every post of every author first.
    """
    at, post_id = _below(before)
    rows = await db.fetch(
        f"""
        SELECT p.id, p.author_id, p.published_at
          FROM unnest($1::bigint[]) AS a(author_id)
{_NEWEST_OF_EACH_AUTHOR}
        """,
        author_ids,
        at,
        post_id,
        limit,
    )
    return _feed_posts(rows)


def _given_to_authors(since: str) -> str:
    """SELECT ... FROM ... of what viewer $1 gave authors since `since` (a placeholder): the
    columns author_id, likes and comments, to be completed with any WHERE on `p` (the liked or
    commented post) and `GROUP BY p.author_id` (likes_user_recent_idx,
    comments_author_recent_idx)."""
    return f"""SELECT p.author_id, sum(e.likes)::int AS likes, sum(e.comments)::int AS comments
      FROM (
           SELECT post_id, 1 AS likes, 0 AS comments FROM likes
            WHERE user_id = $1 AND created_at >= {since}
           UNION ALL
           SELECT post_id, 0, 1 FROM comments
            WHERE author_id = $1 AND created_at >= {since}
      ) e
      JOIN posts p ON p.id = e.post_id"""


# The feed candidates of viewer $1 ($2: celebrity threshold; $3: cached ids; ($4, $5): before;
# $6: published after; $7: limit), as columns pulled, id, author_id, published_at in
# microseconds (the feed key's, computed by PostgreSQL: exact). Without ranking features, the
# views' columns come first ($8: how many of the newest get their views; storage.pg.post_views:
# NULL for the other candidates). With them ($8: affinity since), no views (a RANKED window reads
# the views of the posts it serves only, once ranked), and one row of arrays instead, a column
# each (a window is hundreds of candidates: decoding arrays costs a third of decoding rows):
# pulled, id, author_id, microseconds, like_count, comment_count, and the likes and comments
# the viewer gave the author since $8.
def _candidates_sql(features: bool) -> str:
    extra = ", like_count, comment_count" if features else ""
    head = f"""
WITH {_CELEBRITIES}, authors AS (
    SELECT $1::bigint AS author_id
    UNION ALL
    SELECT id FROM followed_celebrities WHERE {_in_feed_of("id")}
), pulled AS (
    SELECT p.id, p.author_id, p.published_at{extra}
      FROM authors a
     CROSS JOIN LATERAL (
           SELECT id, author_id, published_at{extra} FROM posts
            WHERE author_id = a.author_id AND status = 'PUBLISHED'
              AND (published_at, id) < ($4, $5) AND published_at > $6
            ORDER BY published_at DESC, id DESC
            LIMIT $7
     ) p
     ORDER BY p.published_at DESC, p.id DESC
     LIMIT $7
), candidates AS (
    SELECT true AS pulled, id, author_id, published_at{extra} FROM pulled
    UNION ALL
    SELECT false, p.id, p.author_id, p.published_at{extra.replace(", ", ", p.")}
           {_VISIBLE_AMONG.format(ids="$3")}
)"""
    key = """c.pulled, c.id AS candidate_id, c.author_id AS candidate_author_id,
       (extract(epoch FROM c.published_at) * 1000000)::bigint AS candidate_micros"""
    if features:
        return f"""{head}, given AS (
    {_given_to_authors("$8")}
     GROUP BY p.author_id
)
SELECT array_agg(c.pulled), array_agg(c.id), array_agg(c.author_id),
       array_agg((extract(epoch FROM c.published_at) * 1000000)::bigint),
       array_agg(c.like_count), array_agg(c.comment_count),
       array_agg(coalesce(g.likes, 0)), array_agg(coalesce(g.comments, 0))
  FROM candidates c
  LEFT JOIN given g ON g.author_id = c.author_id
"""
    return f"""{head}, viewed AS MATERIALIZED (
    SELECT DISTINCT id, published_at FROM candidates
     ORDER BY published_at DESC, id DESC
     LIMIT $8
)
SELECT v.*, {key}
  FROM candidates c
  LEFT JOIN viewed ON viewed.id = c.id
  LEFT JOIN LATERAL (
       SELECT {view_columns("$1")}
         FROM posts p JOIN users u ON u.id = p.author_id
        WHERE p.id = viewed.id
  ) v ON true
"""


_CANDIDATES = _candidates_sql(features=False)
_CANDIDATES_WITH_FEATURES = _candidates_sql(features=True)


class CandidateFeatures(NamedTuple):
    """What the ranking reads about one candidate, from the candidate query itself."""

    like_count: int
    """The last flushed snapshot (at most one flush interval old)."""
    comment_count: int
    given_likes: int
    """Likes the viewer gave the post's author since the query's `affinity_since`."""
    given_comments: int
    """Comments the viewer wrote on the author's posts since then."""


class FeedCandidates(NamedTuple):
    """What one candidate query returns for a page of the hybrid feed."""

    checked: list[FeedPost]
    """Those of the cached ids that belong in the viewer's feed now, in no particular order."""
    pulled: list[FeedPost]
    """The newest posts of the pull side (followed celebrities, the viewer), newest first."""
    views: dict[int, PostViewRow]
    """The views of the newest candidates of both (as many as asked), by post id."""
    features: dict[int, CandidateFeatures]
    """Every candidate's ranking inputs by post id, when asked for (`affinity_since`)."""


async def fetch_feed_candidates(
    db: Db,
    viewer_id: int,
    threshold: int,
    *,
    cached_ids: Sequence[int],
    before: FeedKey | None,
    after_micros: int,
    limit: int,
    views: int = 0,
    affinity_since: datetime | None = None,
) -> FeedCandidates:
    """One round trip for a page of the hybrid feed.

    checked: those of `cached_ids` that belong in the viewer's feed now (PUBLISHED, by the
    viewer or an account they follow). pulled: the newest `limit` published posts by the viewer
    or a followed account with at least `threshold` followers, older than `before` and
    published after `after_micros`. Its cost grows with the number of followed celebrities and
    of `cached_ids`, not with the viewer's follow count. views: what the newest `views` posts of
    checked and pulled together show (storage.pg.post_views), read in the same statement: the
    page the caller most likely answers with, without a second round trip. features (when
    `affinity_since` is given, instead of views): each candidate's like and comment counts and
    what the viewer gave its author since then (likes_user_recent_idx,
    comments_author_recent_idx), in the same statement: the RANKED feed's inputs.
    Raises ValueError when asked for both views and features.
    """
    at, post_id = _below(before)
    arguments = [viewer_id, threshold, cached_ids, at, post_id, datetime_of(after_micros), limit]
    checked: list[FeedPost] = []
    pulled: list[FeedPost] = []
    viewed: dict[int, PostViewRow] = {}
    features: dict[int, CandidateFeatures] = {}
    if affinity_since is not None:
        if views:
            raise ValueError("a feed page reads views or ranking features, not both")
        columns = await db.fetchrow(_CANDIDATES_WITH_FEATURES, *arguments, affinity_since)
        if columns is not None and columns[0] is not None:
            flags, ids, authors, micros, *inputs = columns
            posts = list(map(FeedPost, ids, authors, zip(micros, ids, strict=True)))
            features = dict(zip(ids, map(CandidateFeatures, *inputs), strict=True))
            for post, is_pulled in zip(posts, flags, strict=True):
                (pulled if is_pulled else checked).append(post)
    else:
        for row in await db.fetch(_CANDIDATES, *arguments, views):
            is_pulled, candidate_id, author_id, micros = row[VIEW_WIDTH : VIEW_WIDTH + 4]
            post = FeedPost(candidate_id, author_id, (micros, candidate_id))
            (pulled if is_pulled else checked).append(post)
            if row[0] is not None:
                viewed[candidate_id] = view_from_row(row)
    pulled.sort(key=lambda post: post.key, reverse=True)
    return FeedCandidates(checked, pulled, viewed, features)


async def fetch_pull_feed(
    db: Db, viewer_id: int, *, before: FeedKey | None, limit: int
) -> list[FeedPost]:
    """The pure pull-model feed: the newest `limit` published posts older than `before` by the
    viewer or anyone they follow (but muted accounts and any with a block: _in_feed_of), from
    PostgreSQL alone. The baseline of the benchmark, the
    oracle of the tests, and the fallback below a cached feed's horizon."""
    at, post_id = _below(before)
    rows = await db.fetch(
        f"""
        SELECT p.id, p.author_id, p.published_at
          FROM (
               SELECT $1::bigint AS author_id
               UNION ALL
               SELECT followee_id FROM follows
                WHERE follower_id = $1 AND {_in_feed_of("followee_id")}
          ) a
{_NEWEST_OF_EACH_AUTHOR}
        """,
        viewer_id,
        at,
        post_id,
        limit,
    )
    return _feed_posts(rows)


async def fetch_feed_visible_posts(
    db: Db, viewer_id: int, post_ids: Sequence[int]
) -> list[FeedPost]:
    """Those of `post_ids` that belong in the viewer's feed now: PUBLISHED, and by the viewer
    or by an account the viewer follows and has not muted (in no particular order; see
    _VISIBLE_AMONG for how)."""
    rows = await db.fetch(
        f"SELECT p.id, p.author_id, p.published_at {_VISIBLE_AMONG.format(ids='$2')}",
        viewer_id,
        post_ids,
    )
    return _feed_posts(rows)


async def fetch_post_states(db: Db, post_ids: Sequence[int]) -> list[PostState]:
    """(id, author, status, published_at) of the posts among `post_ids` that exist."""
    rows = await db.fetch(
        """
        SELECT p.id, p.author_id, p.status, p.published_at, u.follower_count
          FROM posts p JOIN users u ON u.id = p.author_id
         WHERE p.id = ANY($1::bigint[])
        """,
        post_ids,
    )
    return [_post_state(row) for row in rows]


async def fetch_post_engagement(db: Db, post_ids: Sequence[int]) -> dict[int, PostEngagement]:
    """Like and comment counts and publish time of the published posts among `post_ids`."""
    rows = await db.fetch(
        """
        SELECT id, like_count, comment_count, published_at FROM posts
         WHERE id = ANY($1::bigint[]) AND status = 'PUBLISHED'
        """,
        post_ids,
    )
    return {
        row["id"]: PostEngagement(row["like_count"], row["comment_count"], row["published_at"])
        for row in rows
    }


async def fetch_author_affinity(
    db: Db, viewer_id: int, author_ids: Sequence[int], *, since: datetime
) -> dict[int, AuthorAffinity]:
    """How many likes and comments the viewer gave each of `author_ids` since `since` (authors
    without any are left out). Indexes likes_user_recent_idx and comments_author_recent_idx."""
    rows = await db.fetch(
        f"""
        {_given_to_authors("$3")}
         WHERE p.author_id = ANY($2::bigint[])
         GROUP BY p.author_id
        """,
        viewer_id,
        author_ids,
        since,
    )
    return {row["author_id"]: AuthorAffinity(row["likes"], row["comments"]) for row in rows}
