"""Batch loading of ranking explanations (`Post.rankingExplanation`)."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from services.ranker import explanations
from services.ranker.explanations import RankingExplanation
from services.ranker.serving import RankerServing
from storage.pg import Db


async def load_ranking_explanations(
    db: Db, redis: Redis, serving: RankerServing, viewer_id: int | None, ids: Sequence[int]
) -> list[RankingExplanation | None]:
    """For each post id: why the viewer's RANKED feed served it (None: not served to them
    lately, or no viewer): services.ranker.explanations, one Redis read for the batch."""
    return await explanations.explain(db, redis, serving, viewer_id, ids)
