"""The RANKED window is scored by the active learned model when there is one (services.feed.ranked
asks deps.ranker), and the served page's log says which model ranked it."""

from __future__ import annotations

import dataclasses

import lightgbm
import numpy as np

from resources import Resources
from services import feed
from services.feed import FeedOrder
from services.feed.features import FEATURE_NAMES
from services.ranker import log_upkeep
from services.ranker.serving import RankerServing
from storage import ranker_models
from tests.factories import make_user
from tests.feed_factories import at, feed_deps, insert_follows, insert_post


def model_following(feature: str, above: float, *, high: float, seed: int) -> bytes:
    """A small LightGBM model whose score follows one feature only (engaged: `feature` >
    `above`), trained on uniform rows in [0, high)."""
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(0, high, size=(400, len(FEATURE_NAMES)))
    labels = (matrix[:, FEATURE_NAMES.index(feature)] > above).astype(np.float64)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 1,
              "deterministic": True, "min_data_in_leaf": 5}  # fmt: skip
    dataset = lightgbm.Dataset(matrix, labels, feature_name=list(FEATURE_NAMES))
    booster = lightgbm.train(params, dataset, num_boost_round=20)
    return str(booster.model_to_string()).encode()


def model_preferring_liked_posts() -> bytes:
    """A model whose score follows log_likes only (engaged: log_likes > 1)."""
    return model_following("log_likes", 1, high=3, seed=1)


async def test_the_active_model_ranks_the_window_and_is_logged(clean: Resources) -> None:
    deps = dataclasses.replace(feed_deps(clean), ranker=RankerServing(refresh_seconds=0))
    me, a, b = [await make_user(clean.db, name) for name in ("me", "a", "b")]
    await insert_follows(clean.db, [(me.id, a.id), (me.id, b.id)])
    liked = await insert_post(clean.db, a.id, at(0), likes=5)
    fresh = await insert_post(clean.db, b.id, at(540))
    now = at(600)

    async def first_page() -> list[int]:
        page = await feed.read_feed_ids(
            deps, me.id, first=2, after=None, order=FeedOrder.RANKED, now=now
        )
        return [post_id for _, post_id in page.edges]

    assert await first_page() == [fresh, liked]  # the formula: recency first
    model = await ranker_models.insert_model(
        clean.db, library="lightgbm", feature_names=list(FEATURE_NAMES),
        model=model_preferring_liked_posts(), metrics={}, status="CANDIDATE",
    )  # fmt: skip
    await ranker_models.activate_model(clean.db, model.version)
    assert await first_page() == [liked, fresh]

    assert await log_upkeep.drain_served_pages(clean.redis, clean.db) == 2
    logged = await clean.db.fetch(
        "SELECT model_version, arm, post_ids FROM ranker_served_pages ORDER BY model_version"
    )
    assert [tuple(row) for row in logged] == [
        (model.version, "model", [liked, fresh]),
        (None, "formula", [fresh, liked]),
    ]
