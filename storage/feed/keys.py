"""The home feed's sort key, shared by its Redis (storage.feed.cache) and PostgreSQL
(storage.feed.sql) sides: (published at in microseconds since the epoch, post id), both
descending in a feed."""

from __future__ import annotations

FeedKey = tuple[int, int]
"""(published at in microseconds since the epoch (storage.micros), post id)."""
