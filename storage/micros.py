"""Timestamps as integer microseconds since the epoch: the exact, sortable form that feed keys
(storage.feed), cursors (services.cursors) and search documents store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
MIN_MICROS = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND
MAX_MICROS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND
"""The range of microseconds that datetime_of turns into a datetime."""


def micros_of(at: datetime) -> int:
    """Microseconds since the epoch (exact integer arithmetic, no float rounding)."""
    return (at - _EPOCH) // _MICROSECOND


def datetime_of(micros: int) -> datetime:
    """Inverse of micros_of (UTC). Raises OverflowError outside MIN_MICROS..MAX_MICROS."""
    return _EPOCH + micros * _MICROSECOND
