"""Cursor pagination: opaque keyset cursors and the `first` bounds every connection shares."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

MAX_PAGE_SIZE = 100
MIN_PAGE_SIZE = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
T = TypeVar("T")


class InvalidArgumentError(Exception):
    """An argument of a query is out of range or malformed (a GraphQL error BAD_USER_INPUT)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a connection: (cursor, item) pairs in order, and whether more follow."""

    edges: list[tuple[str, T]]
    has_next_page: bool


def page_of(items: list[tuple[str, T]], limit: int) -> Page[T]:
    """The page of the first `limit` items, read with at least one more when more follow."""
    return Page(edges=items[:limit], has_next_page=len(items) > limit)


def check_page_size(first: int) -> int:
    """`first` when within MIN_PAGE_SIZE..MAX_PAGE_SIZE; raises InvalidArgumentError otherwise
    (0 too: nothing asks for an empty page)."""
    if not MIN_PAGE_SIZE <= first <= MAX_PAGE_SIZE:
        raise InvalidArgumentError(f"`first` must be between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}.")
    return first


def encode_time_id_cursor(at: datetime, item_id: int) -> str:
    """An opaque cursor for the keyset (timestamp, id)."""
    micros = (at - _EPOCH) // _MICROSECOND  # exact integer arithmetic, no float rounding
    return base64.urlsafe_b64encode(f"t1:{micros}:{item_id}".encode()).decode().rstrip("=")


def decode_time_id_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The keyset of a cursor made by encode_time_id_cursor; None for None.

    Raises InvalidArgumentError for anything else (a cursor is opaque: never parse it in clients).
    """
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, micros, item_id = raw.split(":")
        if version != "t1":
            raise ValueError(version)
        at = _EPOCH + int(micros) * _MICROSECOND
        return at, int(item_id)
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError, OSError):
        raise InvalidArgumentError("`after` is not a cursor of this list.") from None
