"""The home feed: fan-out on write, assembly on read, and the upkeep that follows and unfollows
need (README, "Home feed: hybrid fan-out"; docs/architecture.md; docs/ranking.md). Its storage
is storage.feed.

- `page`: reading a page (`read_feed`: assembled posts; `read_feed_ids`: the ids under it).
- `chronological`: the time-ordered feed, cached entries merged with the pull side.
- `ranked` and `ranking`: the RANKED order (snapshots while paging; the scoring formula).
- `fan_out`: pushing posts into followers' cached feeds; follow and unfollow upkeep.
- `deps`: FeedOrder, the tunables (FeedConfig) and connections (FeedDeps).
"""

from services.feed.deps import FeedConfig, FeedDeps, FeedOrder
from services.feed.fan_out import (
    FanOutResult,
    backfill_followee,
    clean_feeds_after_block,
    fan_out_author,
    fan_out_author_batch,
    fan_out_batch,
    fan_out_post,
    follower_lost,
    forget_each_other,
    remove_author_posts,
    remove_followee,
)
from services.feed.page import FeedIdPage, read_feed, read_feed_ids

__all__ = [
    "FanOutResult",
    "FeedConfig",
    "FeedDeps",
    "FeedIdPage",
    "FeedOrder",
    "backfill_followee",
    "clean_feeds_after_block",
    "fan_out_author",
    "fan_out_author_batch",
    "fan_out_batch",
    "fan_out_post",
    "follower_lost",
    "forget_each_other",
    "read_feed",
    "read_feed_ids",
    "remove_author_posts",
    "remove_followee",
]
