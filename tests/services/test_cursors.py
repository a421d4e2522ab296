"""The one cursor codec (services.cursors): every kind reads back what it wrote, and anything
tampered or of another list is refused as a bad argument, before it reaches a query."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from resources import Resources
from services import cursors, follows
from services.cursors import (
    Cursor,
    ExploreCursor,
    FeedSnapshotCursor,
    FeedTailCursor,
    HashtagOlderCursor,
    HashtagTopCursor,
    ModerationQueueCursor,
    SearchCursor,
    SearchSessionCursor,
    TimeIdCursor,
)
from services.feed import FeedOrder, read_feed
from services.pagination import InvalidArgumentError
from storage.micros import MAX_MICROS, MIN_MICROS
from tests.factories import make_user
from tests.feed_factories import feed_deps

EVERY_KIND: list[Cursor] = [
    TimeIdCursor(1_740_830_400_000_000, 42),
    FeedSnapshotCursor("Ab_-9xYz0123", 0),
    FeedTailCursor(MAX_MICROS, 2**63 - 1),
    ExploreCursor("abcdefghijkl", 7),
    HashtagTopCursor(MIN_MICROS, -3, 0, 1),
    HashtagOlderCursor(5, 6),
    SearchCursor(0.1, 8, 9),
    SearchSessionCursor(-2.5e-300, 10, 11, 12),
    ModerationQueueCursor(123.456, 13),
]


def raw(text: str) -> str:
    """A cursor as a client could forge it: the base64url of `text`."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", EVERY_KIND, ids=lambda cursor: type(cursor).__name__)
def test_every_kind_reads_back_what_it_wrote(cursor: Cursor) -> None:
    assert cursors.decode(cursors.encode(cursor), type(cursor)) == cursor


def test_the_format_of_time_id_cursors_is_unchanged() -> None:
    """Cursors issued before the codec was unified keep working (t1 is the same text)."""
    at = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert cursors.encode_time_id_cursor(at, 42) == raw("t1:1740830400123456:42")
    assert cursors.decode_time_id_cursor(raw("t1:1740830400123456:42")) == (at, 42)
    assert cursors.decode_time_id_cursor(None) is None


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("not a cursor", (TimeIdCursor,)),
        ("", (TimeIdCursor,)),
        (raw("t1:1:2"), (FeedSnapshotCursor, FeedTailCursor)),  # another list's kind
        (raw("x1:abcdefghijkl:1"), (FeedSnapshotCursor,)),  # explore's, not the feed's
        (raw("t9:1:2"), (TimeIdCursor,)),  # no such kind
        (raw("t1:1"), (TimeIdCursor,)),  # a field missing
        (raw("t1:1:2:3"), (TimeIdCursor,)),  # a field too many
        (raw("t1: 1:2"), (TimeIdCursor,)),  # not canonical decimal
        (raw("t1:+1:2"), (TimeIdCursor,)),
        (raw("t1:1_0:2"), (TimeIdCursor,)),
        (raw("t1:١:2"), (TimeIdCursor,)),  # Arabic-Indic digits: int() would take them
        (raw("t1:1:9223372036854775808"), (TimeIdCursor,)),  # past bigint
        (raw(f"t1:{MAX_MICROS + 1}:2"), (TimeIdCursor,)),  # past datetime's range
        (raw(f"t1:{MIN_MICROS - 1}:2"), (TimeIdCursor,)),
        (raw("r1:a b:1"), (FeedSnapshotCursor,)),  # not a token
        (raw("r1::1"), (FeedSnapshotCursor,)),
        (raw(f"r1:{'a' * 33}:1"), (FeedSnapshotCursor,)),
        (raw("r1:abc:-1"), (FeedSnapshotCursor,)),  # a negative offset
        (raw("s1:inf:1:2"), (SearchCursor,)),  # not finite
        (raw("s1:nan:1:2"), (SearchCursor,)),
        (raw("s1:0x1.8p:1:2"), (SearchCursor,)),  # not a float
        ("dDE6MToyx", (TimeIdCursor,)),  # a character appended
        (base64.urlsafe_b64encode(b"t1:1:\xff").decode(), (TimeIdCursor,)),  # not UTF-8
    ],
)
def test_tampered_and_foreign_cursors_are_refused(
    text: str, kinds: tuple[type[Cursor], ...]
) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^`after` is not a cursor of this list\.$"):
        cursors.decode(text, *kinds)


def test_the_refusal_names_what_the_cursor_is_not_of() -> None:
    with pytest.raises(InvalidArgumentError, match=r"^`after` is not a cursor of this feed"):
        cursors.decode(raw("t1:1:2"), FeedSnapshotCursor, of="feed order")


@pytest.mark.parametrize(
    "text",
    [raw("t1:1:99999999999999999999"), raw("t1:١:2"), raw(f"t1:{MAX_MICROS + 1}:1")],
)
async def test_lists_refuse_cursors_out_of_range_before_querying(
    clean: Resources, text: str
) -> None:
    """A keyset beyond bigint or datetime, or in other digits, is a bad argument of the list,
    not an error of PostgreSQL, nor a position made up from unicode digits."""
    user = await make_user(clean.db, "someone")
    with pytest.raises(InvalidArgumentError):
        await follows.list_followers(clean.db, None, user.id, first=5, after=text)
    deps = feed_deps(clean)
    for order in FeedOrder:
        with pytest.raises(InvalidArgumentError):
            await read_feed(deps, user.id, first=5, after=text, order=order)
