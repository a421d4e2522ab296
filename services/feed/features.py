"""The RANKED feed's feature matrix: one row per candidate, computed over the whole window at
once (numpy, no per-post Python loop), from what the candidate query read
(storage.feed.sql.CandidateFeatures) and which posts the feed has shown before.

The same rows are what the formula scores (services.feed.ranking's weights), what a learned
model scores (services.ranker), and what each served page logs: training reads the features
exactly as they were served, so training and serving cannot drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from itertools import chain

import numpy as np
import numpy.typing as npt

from services.feed import ranking
from storage.feed.sql import CandidateFeatures, FeedPost

FEATURE_NAMES: tuple[str, ...] = (
    "recency",
    "velocity",
    "affinity",
    "seen",
    "age_hours",
    "log_likes",
    "log_comments",
    "own_post",
)
"""The columns of a feature matrix, in order. The first four are the formula's features."""
FORMULA_WEIGHTS = np.array(
    [ranking.W_RECENCY, ranking.W_VELOCITY, ranking.W_AFFINITY, -ranking.W_SEEN, 0, 0, 0, 0],
    dtype=np.float64,
)
"""The formula as a weight per feature: score = X @ FORMULA_WEIGHTS."""

Matrix = npt.NDArray[np.float64]


def feature_matrix(
    viewer_id: int,
    posts: Sequence[FeedPost],
    inputs: Sequence[CandidateFeatures],
    shown: AbstractSet[int],
    now: datetime,
) -> Matrix:
    """The (len(posts), len(FEATURE_NAMES)) matrix of the candidates, `inputs[i]` being what
    was read about `posts[i]`; `shown`: the ids the viewer's feed has shown before. Pure."""
    count = len(posts)
    raw = np.fromiter(chain.from_iterable(inputs), dtype=np.float64, count=4 * count)
    raw = raw.reshape(count, 4)
    likes, comments, given_likes, given_comments = raw.T
    now_micros = now.timestamp() * 1e6
    published = np.fromiter((post.key[0] for post in posts), dtype=np.float64, count=count)
    age_h = np.maximum((now_micros - published) / 3.6e9, 0.0)
    matrix = np.empty((count, len(FEATURE_NAMES)), dtype=np.float64)
    matrix[:, 0] = 0.5 ** (age_h / ranking.HALF_LIFE_HOURS)
    matrix[:, 1] = np.log1p(
        (likes + ranking.COMMENT_WEIGHT * comments) / np.maximum(age_h, ranking.MIN_AGE_HOURS)
    )
    matrix[:, 2] = np.log1p(given_likes + ranking.COMMENT_WEIGHT * given_comments)
    matrix[:, 3] = np.fromiter((post.id in shown for post in posts), dtype=np.float64, count=count)
    matrix[:, 4] = age_h
    matrix[:, 5] = np.log1p(likes)
    matrix[:, 6] = np.log1p(comments)
    matrix[:, 7] = np.fromiter(
        (post.author_id == viewer_id for post in posts), dtype=np.float64, count=count
    )
    return matrix


def formula_scores(matrix: Matrix) -> npt.NDArray[np.float64]:
    """services.feed.ranking's score of every row (the same weights, vectorised)."""
    scores: npt.NDArray[np.float64] = matrix @ FORMULA_WEIGHTS
    return scores


def order(
    post_ids: Sequence[int], authors: Sequence[int], scores: npt.NDArray[np.float64]
) -> list[int]:
    """Indexes of the candidates by score, highest first, ties to the higher post id, then
    author diversity (services.feed.ranking.diversify's rule). Pure."""
    ids = np.asarray(post_ids, dtype=np.int64)
    by_score = np.lexsort((-ids, -scores)).tolist()
    return ranking.diversify_indexes(by_score, authors)
