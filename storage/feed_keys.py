"""The home feed's sort key, shared by its Redis and PostgreSQL sides: (published at in
microseconds since the epoch, post id), both descending in a feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

FeedKey = tuple[int, int]
"""(published at in microseconds since the epoch, post id)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros_of(at: datetime) -> int:
    """Microseconds since the epoch (exact integer arithmetic, no float rounding)."""
    return (at - _EPOCH) // _MICROSECOND


def datetime_of(micros: int) -> datetime:
    """Inverse of micros_of (UTC)."""
    return _EPOCH + micros * _MICROSECOND
