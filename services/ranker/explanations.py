"""Why a post is in the viewer's RANKED feed (`Post.rankingExplanation`): the features that
weighed most in its score, as the page that served it computed them.

Only the viewer whose feed served the post gets an explanation: it is read from their own
record of served posts (storage.ranker_log.served_posts_of, kept a day), so nobody learns
anything about another viewer's feed, and posts not served to them lately have none. The
caller resolves the post through the visibility rule first (schema.posts.Post). For a model
the contributions are LightGBM's (SHAP values, log-odds, with the model's baseline); for the
formula, weight x value (services.feed.features.FORMULA_WEIGHTS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from redis.asyncio import Redis

from services.feed.features import FEATURE_NAMES, FORMULA_WEIGHTS
from services.ranker.serving import RankerServing
from storage import ranker_log
from storage.pg import Db
from storage.ranker_log import ServedPost

TOP_CONTRIBUTIONS = 4


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    value: float
    """The feature's value as served."""
    contribution: float
    """Its share of the score (the formula's units, or log-odds for a model)."""


@dataclass(frozen=True, slots=True)
class RankingExplanation:
    model_version: int | None
    """The model that ranked the post's page; None: the formula."""
    served_at: datetime
    score: float
    baseline: float
    """The score with no feature information (a model's bias; 0 for the formula): score =
    baseline + the sum of every feature's contribution."""
    contributions: list[Contribution]
    """The TOP_CONTRIBUTIONS largest by magnitude, largest first."""


async def explain(
    db: Db, redis: Redis, serving: RankerServing, viewer_id: int | None, post_ids: Sequence[int]
) -> list[RankingExplanation | None]:
    """For each post id, why the viewer's RANKED feed served it (see the module docstring);
    None for an anonymous viewer, a post not served to the viewer lately, or one whose model
    cannot be loaded any more. Batched: one Redis read, and one contribution call per model
    version among the posts. Side effects: none beyond loading models into `serving`."""
    if viewer_id is None or not post_ids:
        return [None] * len(post_ids)
    served = await ranker_log.served_posts_of(redis, viewer_id, post_ids)
    usable = {
        post_id: post
        for post_id, post in served.items()
        if len(post.features) == len(FEATURE_NAMES)
    }
    found: dict[int, RankingExplanation] = {}
    for version in {post.model_version for post in usable.values()}:
        ids = [post_id for post_id, post in usable.items() if post.model_version == version]
        matrix = np.array([usable[post_id].features for post_id in ids], dtype=np.float64)
        if version is None:
            names: Sequence[str] = FEATURE_NAMES
            values, parts, bias = matrix, matrix * FORMULA_WEIGHTS, np.zeros(len(ids))
        else:
            model = await serving.model_of_version(db, version)
            if model is None:
                continue
            names = model.feature_names
            values = matrix[:, model.columns]
            contributions = model.contributions(matrix)
            parts, bias = contributions[:, :-1], contributions[:, -1]
        for row, post_id in enumerate(ids):
            found[post_id] = _explanation(usable[post_id], names, values[row], parts[row],
                                          float(bias[row]))  # fmt: skip
    return [found.get(post_id) for post_id in post_ids]


def _explanation(
    post: ServedPost,
    names: Sequence[str],
    values: np.ndarray,
    parts: np.ndarray,
    baseline: float,
) -> RankingExplanation:
    top = np.lexsort((np.arange(len(parts)), -np.abs(parts)))[:TOP_CONTRIBUTIONS]
    return RankingExplanation(
        post.model_version,
        post.served_at,
        baseline + float(parts.sum()),
        baseline,
        [Contribution(names[i], float(values[i]), float(parts[i])) for i in top.tolist()],
    )
