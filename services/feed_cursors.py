"""Opaque cursors of the home feed.

CHRONOLOGICAL: the shared time/id keyset cursor (services.pagination). RANKED: a position in a
stored snapshot of the ranked order (`r1`), or, past the end of the ranked window, a time/id
keyset below it (`r2`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from services.pagination import InvalidArgumentError, decode_time_id_cursor
from storage.feed_keys import FeedKey, micros_of

_SNAPSHOT_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True, slots=True)
class SnapshotCursor:
    snapshot_id: str
    offset: int


@dataclass(frozen=True, slots=True)
class TailCursor:
    key: FeedKey


def encode_chronological(key: FeedKey) -> str:
    """The same cursor as encode_time_id_cursor(published_at, id), without the datetime."""
    return _encode(f"t1:{key[0]}:{key[1]}")


def decode_chronological(cursor: str | None) -> FeedKey | None:
    """Raises InvalidArgumentError for anything but a cursor of this kind."""
    decoded = decode_time_id_cursor(cursor)
    return None if decoded is None else (micros_of(decoded[0]), decoded[1])


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def encode_snapshot(snapshot_id: str, offset: int) -> str:
    return _encode(f"r1:{snapshot_id}:{offset}")


def encode_tail(key: FeedKey) -> str:
    return _encode(f"r2:{key[0]}:{key[1]}")


def decode_ranked(cursor: str | None) -> SnapshotCursor | TailCursor | None:
    """Raises InvalidArgumentError for anything but a RANKED cursor."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, first, second = raw.split(":")
        if version == "r1" and _SNAPSHOT_ID.match(first) and int(second) >= 0:
            return SnapshotCursor(first, int(second))
        if version == "r2":
            return TailCursor((int(first), int(second)))
        raise ValueError(version)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgumentError("`after` is not a cursor of this feed order.") from None
