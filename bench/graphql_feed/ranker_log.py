"""A generated ranker log for bench.graphql_feed: served RANKED pages over the last week whose
engagement follows a hidden rule, so that the real training pipeline (services.ranker.training,
what `shutter train-ranker` runs) trains, evaluates and promotes a model that the server then
serves. Only the model's presence and size matter to the feed's speed; the rule is one the
formula gets wrong (it weighs recency most; here popular posts of close authors engage), so
the model beats it on held-out days and is promoted as it would be in production.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import asyncpg
import numpy as np

from services.feed import ranking
from services.feed.features import FEATURE_NAMES
from services.ranker import training

PAGE_SIZE = 20


def _page_features(rng: random.Random) -> list[list[float]]:
    """The FEATURE_NAMES rows of one served page, computed as services.feed.features does."""
    rows = []
    for _ in range(PAGE_SIZE):
        age = rng.uniform(0, 72)
        likes = rng.lognormvariate(1.5, 1.2)
        comments = rng.lognormvariate(0.3, 1.0)
        given = rng.choice((0, 0, 0, 1, 3, 8))
        rows.append([
            0.5 ** (age / ranking.HALF_LIFE_HOURS),
            float(np.log1p((likes + ranking.COMMENT_WEIGHT * comments) / max(age, 1.0))),
            float(np.log1p(given)),
            float(rng.random() < 0.2),
            age,
            float(np.log1p(likes)),
            float(np.log1p(comments)),
            0.0,
        ])  # fmt: skip
    return rows


def _engaged(rng: random.Random, row: list[float]) -> bool:
    """The hidden rule: popularity and closeness, barely recency."""
    logit = -3.0 + 0.9 * row[5] + 1.2 * row[2] - 0.01 * row[4]
    return rng.random() < 1 / (1 + math.exp(-logit))


async def generate_and_train(db: asyncpg.Pool, viewer_ids: list[int], now: datetime) -> int:
    """Write 1,400 served pages (7 days) and their long-dwell impressions, train on them with
    services.ranker.training.train and return the promoted model's version. Raises
    RuntimeError when the model was not promoted."""
    rng = random.Random(22)
    pages, impressions = [], []
    total = 1400
    for index in range(total):
        served_at = now - timedelta(days=7) + timedelta(minutes=index * 7 * 1440 / total)
        viewer = viewer_ids[index % len(viewer_ids)]
        first = 10**12 + index * PAGE_SIZE  # ids no real post has: no real like labels them
        post_ids = list(range(first, first + PAGE_SIZE))
        rows = _page_features(rng)
        page_id = f"bench{index}"
        pages.append(
            (served_at, page_id, viewer, None, "formula", post_ids, list(FEATURE_NAMES),
             [v for row in rows for v in row])
        )  # fmt: skip
        impressions += [
            (served_at, page_id, viewer, post_id, position, 5000)
            for position, (post_id, row) in enumerate(zip(post_ids, rows, strict=True))
            if _engaged(rng, row)
        ]
    await db.copy_records_to_table(
        "ranker_served_pages",
        records=pages,
        columns=["served_at", "page_id", "viewer_id", "model_version", "arm", "post_ids",
                 "feature_names", "features"],
    )  # fmt: skip
    await db.copy_records_to_table(
        "ranker_impressions",
        records=impressions,
        columns=["served_at", "page_id", "viewer_id", "post_id", "position", "visible_ms"],
    )
    result = await training.train(db, now=now)
    if not result.promoted:
        raise RuntimeError(f"the bench's model was not promoted: {result.metrics}")
    return result.version
