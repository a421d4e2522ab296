"""What the home-feed services need: connections, and the feed's tunables."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from arq.connections import ArqRedis

from services.ranker.serving import RankerServing
from storage.pg import Db


class FeedOrder(enum.Enum):
    RANKED = "RANKED"
    """Re-scored candidate window (services.feed.ranking), stable while paging (a snapshot)."""
    CHRONOLOGICAL = "CHRONOLOGICAL"
    """Pure time order, newest first, keyset cursors."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """The feed's tunables; the first four come from Settings (same names, `feed_` prefixes)."""

    celebrity_follower_threshold: int = 10_000
    """Authors with at least this many followers are pulled at read time, never fanned out."""
    max_entries: int = 800
    """Each cached feed keeps its newest entries up to this many."""
    ttl_seconds: int = 7 * 24 * 3600
    """A feed unread this long expires: its owner is inactive until they read again."""
    fan_out_batch_size: int = 1000
    """Followers per fan-out job (and per Redis script call)."""
    ranked_window: int = 500
    """RANKED re-scores this many of the newest candidates."""
    ranked_snapshot_ttl_seconds: int = 1800
    """How long a RANKED paging session's order stays valid after its first page."""
    backfill_script_budget: int = 20_000
    """Upper bound of (feed, post) pairs per script call when many posts go to many feeds
    (an author dropping below the threshold): a script blocks Redis while it runs."""


@dataclass(frozen=True, slots=True)
class FeedDeps:
    db: Db
    redis: ArqRedis
    """Feeds, ranked snapshots, and the arq queue for fan-out jobs."""
    config: FeedConfig
    ranker: RankerServing | None = None
    """The active learned model, when one may serve (None: the formula ranks)."""
    log_served_pages: bool = True
    """Log every RANKED first page with its features (storage.ranker_log) for training."""
    run_jobs_inline: bool = False
    """Do follow-up batches (fan-out, backfills) in the calling process instead of enqueuing
    jobs: for tests, benchmarks and maintenance scripts."""
