"""The ranker's log (#22, docs/ranking.md): served RANKED pages and client impressions.

Served pages go to Redis first (a list, in the round trip that stores the page's snapshot) and
reach PostgreSQL in batches (COPY) by a worker job: the feed request never writes to
PostgreSQL. Both tables are partitioned by day (`served_at`); the partitions are created ahead
and dropped after the retention by a cron job (ensure_partitions, drop_partitions_before).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast

import numpy as np
import numpy.typing as npt
import orjson
from redis.asyncio import Redis

from storage import redis_keys
from storage.pg import Db

SERVED_LOG_CAP = 100_000
"""Served pages kept in Redis while no worker drains them (the newest); older ones are lost."""
SERVED_MAP_TTL_SECONDS = 24 * 3600
"""Impressions of a post are attributed to the page that served it within this long."""
_TABLES = ("ranker_served_pages", "ranker_impressions")


@dataclass(frozen=True, slots=True)
class ServedPage:
    """A RANKED page as served: its posts in order with the features the ranker used."""

    page_id: str
    viewer_id: int
    served_ms: int
    model_version: int | None
    arm: str
    post_ids: list[int]
    feature_names: Sequence[str]
    features: npt.NDArray[np.float64]
    """One row per post of `post_ids`."""


def _record(page: ServedPage) -> bytes:
    return orjson.dumps(
        [
            page.page_id,
            page.viewer_id,
            page.served_ms,
            page.model_version,
            page.arm,
            page.post_ids,
            list(page.feature_names),
            page.features.astype(np.float32),
        ],
        option=orjson.OPT_SERIALIZE_NUMPY,
    )


_CHALLENGER_TAG = 0.5
"""Added to the model version leading a stored row when the challenger arm served it."""


def _scorer_tag(model_version: int | None, arm: str) -> float:
    """The value leading a stored row: who scored it. -1: the formula; the model version: the
    model arm; the version + _CHALLENGER_TAG: the challenger arm (exact in float32 below 2**23
    versions; a reader that truncates it, such as an older process, still gets the version).
    Pure."""
    if model_version is None:
        return -1.0
    return model_version + (_CHALLENGER_TAG if arm == "challenger" else 0.0)


def _scorer_of(tag: float) -> tuple[int | None, str]:
    """(model version, arm) of a stored row's leading value (_scorer_tag). Pure."""
    if tag < 0:
        return None, "formula"
    version = int(tag)
    return version, "model" if tag == version else "challenger"


def _stored_rows(
    model_version: int | None, features: npt.NDArray[np.float64], arm: str
) -> npt.NDArray[np.float32]:
    """Feature rows as stored in Redis: float32, little-endian, each led by who scored it
    (_scorer_tag)."""
    stored = np.empty((features.shape[0], features.shape[1] + 1), dtype="<f4")
    stored[:, 0] = _scorer_tag(model_version, arm)
    stored[:, 1:] = features
    return stored


def _served_values(page: ServedPage) -> dict[str, bytes]:
    """The served-map entries of `page`: post id -> b"page id/served ms/" and the post's
    stored row (_stored_rows: served_posts_of reads them)."""
    prefix = f"{page.page_id}/{page.served_ms}/".encode()
    rows = _stored_rows(page.model_version, page.features, page.arm)
    return {
        str(post_id): prefix + rows[index].tobytes() for index, post_id in enumerate(page.post_ids)
    }


def queue_served_page(pipe: Redis, page: ServedPage) -> None:
    """Add to `pipe` (a pipeline, executed by the caller) what serving `page` logs: its record
    on the served list (capped at SERVED_LOG_CAP) and each post's attribution to it with its
    feature row (ranker_served_posts, for impression reports and explanations)."""
    pipe.rpush(redis_keys.RANKER_SERVED_LOG, _record(page))
    pipe.ltrim(redis_keys.RANKER_SERVED_LOG, -SERVED_LOG_CAP, -1)
    if page.post_ids:
        served = redis_keys.ranker_served_posts(page.viewer_id)
        pipe.hset(served, mapping=_served_values(page))
        pipe.expire(served, SERVED_MAP_TTL_SECONDS)


_FEATURE = 4
"""Bytes of one stored value (float32)."""
_SNAPSHOT_RECORD = b"W"
"""The first byte of a logged page served from a snapshot (the others are JSON arrays)."""


def queue_window_features(
    pipe: Redis,
    viewer_id: int,
    snapshot_id: str,
    model_version: int | None,
    arm: str,
    rows: npt.NDArray[np.float64],
    ttl_seconds: int,
) -> None:
    """Add to `pipe` the storing of a whole RANKED window's feature rows, in snapshot order,
    each led by who scored it (_stored_rows), for the session's later pages
    (LOG_SNAPSHOT_PAGE_LUA); one key, expiring with the snapshot."""
    pipe.set(
        redis_keys.ranker_window_features(viewer_id, snapshot_id),
        _stored_rows(model_version, rows, arm).tobytes(),
        ex=ttl_seconds,
    )


@dataclass(frozen=True, slots=True)
class SnapshotPageLog:
    """A page served from a RANKED snapshot, to log: its posts from the window, with each
    one's position in the window (whose stored rows say how they were ranked)."""

    page_id: str
    snapshot_id: str
    viewer_id: int
    served_ms: int
    post_ids: list[int]
    window_positions: list[int]
    feature_names: Sequence[str]


LOG_SNAPSHOT_PAGE_LUA = """
local function log_snapshot_page(window_key, log_key, map_key, at)
    local stride, prefix = tonumber(ARGV[at + 3]), ARGV[at + 4]
    local rows, fields = {}, {}
    for post_id, position in string.gmatch(ARGV[at + 5], '(%d+):(%d+)') do
        local start = tonumber(position) * stride
        local row = redis.call('GETRANGE', window_key, start, start + stride - 1)
        if #row < stride then
            return
        end
        rows[#rows + 1] = row
        fields[#fields + 1] = post_id
        fields[#fields + 1] = prefix .. row
    end
    if #rows == 0 then
        return
    end
    redis.call('RPUSH', log_key, ARGV[at] .. table.concat(rows))
    redis.call('LTRIM', log_key, -tonumber(ARGV[at + 1]), -1)
    redis.call('HSET', map_key, unpack(fields))
    redis.call('EXPIRE', map_key, ARGV[at + 2])
end
"""
"""A Lua function that logs a page served from a snapshot (SnapshotPageLog) inside a script
doing other work, in the same round trip: it copies the posts' stored rows from the window's
key into the page's record on the served list (capped) and into the served map, with no
feature value crossing to the API process. From the script's ARGV at `at` on, six of them
(snapshot_page_script_args); nothing is logged when the window's rows are gone."""


def snapshot_page_script_keys(page: SnapshotPageLog) -> list[str]:
    """The keys LOG_SNAPSHOT_PAGE_LUA takes, in its order: the window's rows, the served list,
    the served map."""
    return [
        redis_keys.ranker_window_features(page.viewer_id, page.snapshot_id),
        redis_keys.RANKER_SERVED_LOG,
        redis_keys.ranker_served_posts(page.viewer_id),
    ]


def snapshot_page_script_args(page: SnapshotPageLog) -> list[bytes | str | int]:
    """LOG_SNAPSHOT_PAGE_LUA's six arguments: the record's head, the list's cap, the map's TTL,
    a row's bytes, the map values' prefix, and "post id:window position" pairs joined by commas
    (one argument: each one more costs the API process more than the script's parsing)."""
    head = orjson.dumps(
        [page.page_id, page.viewer_id, page.served_ms, page.post_ids, list(page.feature_names)]
    )
    pairs = ",".join(
        f"{post_id}:{position}"
        for post_id, position in zip(page.post_ids, page.window_positions, strict=True)
    )
    return [
        _SNAPSHOT_RECORD + head + b"\n",
        SERVED_LOG_CAP,
        SERVED_MAP_TTL_SECONDS,
        (len(page.feature_names) + 1) * _FEATURE,
        f"{page.page_id}/{page.served_ms}/",
        pairs,
    ]


@dataclass(frozen=True, slots=True)
class ServedPost:
    """How a RANKED page served one post to the viewer: the page, when, which model (None:
    the formula) in which experiment arm, and the post's feature row as scored."""

    page_id: str
    served_at: datetime
    model_version: int | None
    features: list[float]
    arm: str
    """formula, model or challenger (services.ranker.serving.ARMS)."""


async def served_posts_of(
    redis: Redis, viewer_id: int, post_ids: Sequence[int]
) -> dict[int, ServedPost]:
    """post id -> how the latest RANKED page that served it to the viewer did (within
    SERVED_MAP_TTL_SECONDS); posts not served lately are absent. One round trip, no side
    effect."""
    if not post_ids:
        return {}
    values = await cast(
        Awaitable[list[bytes | None]],
        redis.hmget(redis_keys.ranker_served_posts(viewer_id), [str(i) for i in post_ids]),
    )
    found: dict[int, ServedPost] = {}
    for post_id, value in zip(post_ids, values, strict=True):
        if value is not None:
            page_id, served_ms, stored = value.split(b"/", 2)
            row = np.frombuffer(stored, dtype="<f4").tolist() if len(stored) % _FEATURE == 0 else []
            version, arm = _scorer_of(row[0]) if row else (None, "formula")
            found[post_id] = ServedPost(
                page_id.decode(),
                datetime.fromtimestamp(int(served_ms) / 1000, UTC),
                version,
                row[1:],
                arm,
            )
    return found


async def served_pages_of(
    redis: Redis, viewer_id: int, post_ids: Sequence[int]
) -> dict[int, tuple[str, datetime]]:
    """post id -> (page id, served at) of the latest RANKED page that served it to the viewer
    (served_posts_of, without the features); one round trip, no side effect."""
    served = await served_posts_of(redis, viewer_id, post_ids)
    return {post_id: (post.page_id, post.served_at) for post_id, post in served.items()}


async def drain_served_pages(redis: Redis, db: Db, *, batch: int) -> int:
    """Move up to `batch` served pages from Redis into ranker_served_pages (one COPY); returns
    how many. A batch is removed from Redis only after PostgreSQL has it (a crash in between
    copies it again: rows are append-only, a repeat is one duplicate page at worst)."""
    raw = await cast(
        Awaitable[list[bytes]], redis.lrange(redis_keys.RANKER_SERVED_LOG, 0, batch - 1)
    )
    if not raw:
        return 0
    records = []
    for item in raw:
        if item[:1] == _SNAPSHOT_RECORD:
            head, rows = item[1:].split(b"\n", 1)
            page_id, viewer, served_ms, post_ids, names = orjson.loads(head)
            stored = np.frombuffer(rows, dtype="<f4").reshape(len(post_ids), len(names) + 1)
            version, arm = _scorer_of(float(stored[0, 0]))
            flat = stored[:, 1:].astype(np.float64).ravel().tolist()
        else:
            page_id, viewer, served_ms, version, arm, post_ids, names, features = orjson.loads(item)
            flat = [float(value) for row in features for value in row]
        records.append(
            (
                datetime.fromtimestamp(served_ms / 1000, UTC),
                page_id,
                viewer,
                version,
                arm,
                post_ids,
                names,
                flat,
            )
        )
    await db.copy_records_to_table(
        "ranker_served_pages",
        records=records,
        columns=[
            "served_at",
            "page_id",
            "viewer_id",
            "model_version",
            "arm",
            "post_ids",
            "feature_names",
            "features",
        ],
    )
    await cast(Awaitable[str], redis.ltrim(redis_keys.RANKER_SERVED_LOG, len(raw), -1))
    return len(raw)


@dataclass(frozen=True, slots=True)
class Impression:
    served_at: datetime
    page_id: str
    viewer_id: int
    post_id: int
    position: int
    visible_ms: int
    profile_opened_at: datetime | None = None
    """When the viewer opened the author's profile from it (None: not reported)."""


@dataclass(frozen=True, slots=True)
class WrittenImpressions:
    """What insert_impressions changed: the (post id, page id) of rows new, and of rows that
    became engaged (new ones included)."""

    new: list[tuple[int, str]]
    newly_engaged: list[tuple[int, str]]


async def insert_impressions(
    db: Db, impressions: Sequence[Impression], *, long_dwell_ms: int
) -> WrittenImpressions:
    """Insert the impressions (at most one per viewer, post and served page); one already
    recorded keeps its row, which takes a longer visible time or a first profile opening
    (nothing else changes). A row is engaged with at least `long_dwell_ms` on screen or a
    profile opening. One statement (its `before` sees the rows as they were: a written row
    missing there is new; xmax cannot be read on a partitioned table)."""
    if not impressions:
        return WrittenImpressions([], [])
    rows = await db.fetch(
        """
        WITH given AS (
            SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bigint[], $4::bigint[],
                                 $5::int[], $6::int[], $7::timestamptz[])
                       AS g(served_at, page_id, viewer_id, post_id, position, visible_ms,
                            profile_opened_at)
        ), before AS (
            SELECT i.post_id, i.page_id,
                   (i.visible_ms >= $8 OR i.profile_opened_at IS NOT NULL) AS engaged
              FROM ranker_impressions i JOIN given g USING (viewer_id, post_id, page_id, served_at)
        ), written AS (
            INSERT INTO ranker_impressions AS i
                   (served_at, page_id, viewer_id, post_id, position, visible_ms,
                    profile_opened_at)
            SELECT * FROM given
            ON CONFLICT (viewer_id, post_id, page_id, served_at) DO UPDATE
               SET visible_ms = greatest(i.visible_ms, excluded.visible_ms),
                   profile_opened_at = coalesce(i.profile_opened_at, excluded.profile_opened_at)
             WHERE excluded.visible_ms > i.visible_ms
                OR (i.profile_opened_at IS NULL AND excluded.profile_opened_at IS NOT NULL)
            RETURNING i.post_id, i.page_id,
                      (i.visible_ms >= $8 OR i.profile_opened_at IS NOT NULL) AS engaged
        )
        SELECT w.post_id, w.page_id, b.post_id IS NULL AS inserted,
               w.engaged AND NOT coalesce(b.engaged, false) AS newly_engaged
          FROM written w LEFT JOIN before b USING (post_id, page_id)
        """,
        [i.served_at for i in impressions],
        [i.page_id for i in impressions],
        [i.viewer_id for i in impressions],
        [i.post_id for i in impressions],
        [i.position for i in impressions],
        [i.visible_ms for i in impressions],
        [i.profile_opened_at for i in impressions],
        long_dwell_ms,
    )
    return WrittenImpressions(
        [(row["post_id"], row["page_id"]) for row in rows if row["inserted"]],
        [(row["post_id"], row["page_id"]) for row in rows if row["newly_engaged"]],
    )


def _partition(table: str, day: date) -> str:
    return f"{table}_{day:%Y%m%d}"


async def ensure_partitions(db: Db, *, today: date, days_ahead: int) -> list[str]:
    """Create the daily partitions of both log tables from `today` to `days_ahead` days later
    where missing; returns the names created. (Rows of those days already in the default
    partition would make the creation fail: the job runs ahead of time, so there are none.)"""
    created = []
    for offset in range(days_ahead + 1):
        day = today + timedelta(days=offset)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for table in _TABLES:
            name = _partition(table, day)
            exists = await db.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
            if not exists:
                await db.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} "
                    f"FOR VALUES FROM ('{start.isoformat()}') "
                    f"TO ('{(start + timedelta(days=1)).isoformat()}')"
                )
                created.append(name)
    return created


async def drop_partitions_before(db: Db, *, cutoff: date) -> list[str]:
    """Drop the daily partitions of both log tables for days before `cutoff`, and delete the
    default partitions' rows older than it; returns the names dropped."""
    dropped = []
    for table in _TABLES:
        rows = await db.fetch(
            """
            SELECT c.relname FROM pg_inherits i
              JOIN pg_class c ON c.oid = i.inhrelid
              JOIN pg_class parent ON parent.oid = i.inhparent
             WHERE parent.relname = $1 AND c.relname ~ '_[0-9]{8}$'
            """,
            table,
        )
        for row in rows:
            name: str = row["relname"]
            if name[-8:] < f"{cutoff:%Y%m%d}":
                await db.execute(f"DROP TABLE IF EXISTS {name}")
                dropped.append(name)
        start = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
        await db.execute(f"DELETE FROM {table}_default WHERE served_at < $1", start)
    return sorted(dropped)
