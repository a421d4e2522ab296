"""Versioned ranker models in PostgreSQL (table ranker_models; #22, docs/ranking.md), and the
training rows read from the ranker's log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from storage.pg import Db, transaction


@dataclass(frozen=True, slots=True)
class ModelRecord:
    version: int
    created_at: datetime
    library: str
    feature_names: list[str]
    model: bytes
    metrics: dict[str, Any]
    status: str
    activated_at: datetime | None


_COLUMNS = "version, created_at, library, feature_names, model, metrics, status, activated_at"


def _model(row: Any) -> ModelRecord:
    return ModelRecord(
        row["version"],
        row["created_at"],
        row["library"],
        list(row["feature_names"]),
        bytes(row["model"]),
        orjson.loads(row["metrics"]),
        row["status"],
        row["activated_at"],
    )


async def insert_model(
    db: Db,
    *,
    library: str,
    feature_names: list[str],
    model: bytes,
    metrics: dict[str, Any],
    status: str,
) -> ModelRecord:
    """Store a trained model (status CANDIDATE or REJECTED; promote with activate_model)."""
    row = await db.fetchrow(
        f"""
        INSERT INTO ranker_models (library, feature_names, model, metrics, status)
        VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING {_COLUMNS}
        """,
        library,
        feature_names,
        model,
        orjson.dumps(metrics).decode(),
        status,
    )
    assert row is not None
    return _model(row)


async def fetch_active_model(db: Db) -> ModelRecord | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM ranker_models WHERE status = 'ACTIVE'")
    return None if row is None else _model(row)


async def fetch_active_version(db: Db) -> int | None:
    """The active model's version (a primary-key-sized read, for cache checks)."""
    version: int | None = await db.fetchval(
        "SELECT version FROM ranker_models WHERE status = 'ACTIVE'"
    )
    return version


async def fetch_model(db: Db, version: int) -> ModelRecord | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM ranker_models WHERE version = $1", version)
    return None if row is None else _model(row)


async def fetch_models(db: Db, *, limit: int = 20) -> list[ModelRecord]:
    """The newest models, newest first."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM ranker_models ORDER BY version DESC LIMIT $1", limit
    )
    return [_model(row) for row in rows]


async def activate_model(db: Db, version: int) -> None:
    """Make `version` the one ACTIVE model (the previous one becomes RETIRED), in one
    transaction."""
    async with transaction(db) as tx:
        await tx.execute("UPDATE ranker_models SET status = 'RETIRED' WHERE status = 'ACTIVE'")
        await tx.execute(
            "UPDATE ranker_models SET status = 'ACTIVE', activated_at = now() WHERE version = $1",
            version,
        )


async def rollback_active(db: Db) -> int | None:
    """Reject the active model (a rolled-back model is never re-activated by a later rollback)
    and re-activate the retired one activated most recently before it (None left active when
    there is none: the formula serves); returns the version now active."""
    async with transaction(db) as tx:
        current = await tx.fetchrow(
            "SELECT version, activated_at FROM ranker_models WHERE status = 'ACTIVE' FOR UPDATE"
        )
        if current is None:
            return None
        await tx.execute(
            "UPDATE ranker_models SET status = 'REJECTED' WHERE version = $1", current["version"]
        )
        previous: int | None = await tx.fetchval(
            """
            SELECT version FROM ranker_models
             WHERE status = 'RETIRED' AND version <> $1 AND activated_at IS NOT NULL
               AND activated_at < $2
             ORDER BY activated_at DESC LIMIT 1
            """,
            current["version"],
            current["activated_at"],
        )
        if previous is not None:
            await tx.execute(
                "UPDATE ranker_models SET status = 'ACTIVE', activated_at = now() "
                "WHERE version = $1",
                previous,
            )
        return previous


def _engaged_sql(*, window: str, dwell: str) -> str:
    """Whether the viewer of served page `s` engaged with its post `item.post_id` within
    `window` seconds after the page (a like, a comment, the author's profile opened from it),
    or had it on screen at least `dwell` ms for that page: the label, in SQL. `window` and
    `dwell` are the statement's parameters ($n)."""
    return f"""
        (EXISTS (SELECT 1 FROM likes l
                  WHERE l.post_id = item.post_id AND l.user_id = s.viewer_id
                    AND l.created_at >= s.served_at
                    AND l.created_at < s.served_at + make_interval(secs => {window}))
         OR EXISTS (SELECT 1 FROM comments c
                     WHERE c.post_id = item.post_id AND c.author_id = s.viewer_id
                       AND c.created_at >= s.served_at
                       AND c.created_at < s.served_at + make_interval(secs => {window}))
         OR EXISTS (SELECT 1 FROM ranker_impressions i
                     WHERE i.viewer_id = s.viewer_id AND i.post_id = item.post_id
                       AND i.page_id = s.page_id AND i.served_at = s.served_at
                       AND (i.visible_ms >= {dwell}
                            OR i.profile_opened_at
                               < s.served_at + make_interval(secs => {window}))))"""


@dataclass(frozen=True, slots=True)
class ArmDay:
    """One arm's engagement on one day (shutter ranker report)."""

    day: date
    arm: str
    pages: int
    served: int
    """Posts served in those pages."""
    on_screen: int
    """Of them, reported on screen by the client (recordImpressions)."""
    engaged: int
    """Of them, engaged (the training label)."""


async def fetch_engagement_by_arm(
    db: Db, *, since: datetime, until: datetime, window_seconds: int, long_dwell_ms: int
) -> list[ArmDay]:
    """Per day (UTC) and experiment arm, the pages served in [since, until) with their posts,
    how many were on screen and how many engaged (as fetch_training_rows labels them).
    Ordered by day, then arm. One statement."""
    rows = await db.fetch(
        f"""
        SELECT (s.served_at AT TIME ZONE 'UTC')::date AS day, s.arm,
               count(DISTINCT (s.page_id, s.served_at)) AS pages,
               count(*) AS served,
               count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM ranker_impressions i
                    WHERE i.viewer_id = s.viewer_id AND i.post_id = item.post_id
                      AND i.page_id = s.page_id AND i.served_at = s.served_at)) AS on_screen,
               count(*) FILTER (WHERE {_engaged_sql(window="$3", dwell="$4")}) AS engaged
          FROM ranker_served_pages s
         CROSS JOIN LATERAL unnest(s.post_ids) AS item(post_id)
         WHERE s.served_at >= $1 AND s.served_at < $2
         GROUP BY 1, 2
         ORDER BY 1, 2
        """,
        since,
        until,
        float(window_seconds),
        long_dwell_ms,
    )
    return [
        ArmDay(row["day"], row["arm"], row["pages"], row["served"], row["on_screen"],
               row["engaged"])
        for row in rows
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class TrainingRow:
    served_at: datetime
    page_id: str
    viewer_id: int
    post_id: int
    position: int
    features: list[float]
    label: bool


async def fetch_training_rows(
    db: Db,
    *,
    since: datetime,
    until: datetime,
    feature_names: list[str],
    window_seconds: int,
    long_dwell_ms: int,
) -> list[TrainingRow]:
    """Every post of every page served in [since, until) with the features it was served
    with (pages logged with other feature names are skipped), labelled engaged when within
    `window_seconds` after the page the viewer liked it, commented on it, opened its author's
    profile from it (reported for that page), or reported it on screen for at least
    `long_dwell_ms` (for that page). Ordered by serving time."""
    width = len(feature_names)
    rows = await db.fetch(
        f"""
        SELECT s.served_at, s.page_id, s.viewer_id, item.post_id, item.n::int - 1 AS position,
               s.features[(item.n - 1) * $4 + 1 : item.n * $4] AS features,
               {_engaged_sql(window="$5", dwell="$6")} AS label
          FROM ranker_served_pages s
         CROSS JOIN LATERAL unnest(s.post_ids) WITH ORDINALITY AS item(post_id, n)
         WHERE s.served_at >= $1 AND s.served_at < $2 AND s.feature_names = $3
         ORDER BY s.served_at, s.page_id, item.n
        """,
        since,
        until,
        feature_names,
        width,
        float(window_seconds),
        long_dwell_ms,
    )
    return [
        TrainingRow(
            row["served_at"],
            row["page_id"],
            row["viewer_id"],
            row["post_id"],
            row["position"],
            list(row["features"]),
            row["label"],
        )
        for row in rows
    ]
