"""Opaque cursors of every paginated list: one codec, and every kind of cursor the API issues.

A cursor is the unpadded base64url of `tag:field:field:...`. Each kind is a frozen dataclass
below with a unique `TAG` and typed fields; `encode` writes one, `decode` reads a cursor back
as one of the kinds a list accepts, checking every field strictly (integers in canonical ASCII
decimal within 64 bits, microseconds within datetime's range, tokens of url-safe characters,
finite floats in hex), and refuses anything else, a tampered cursor or one of another list,
with InvalidArgumentError (a GraphQL error BAD_USER_INPUT). Cursors are opaque: clients never
parse them. Adding a kind: a dataclass with a new TAG; changing a kind's fields: a new TAG.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Annotated, Any, ClassVar, TypeVar, get_type_hints, overload

from services.pagination import InvalidArgumentError
from storage.micros import MAX_MICROS, MIN_MICROS, datetime_of, micros_of

Micros = Annotated[int, "microseconds since the epoch, within datetime's range"]
Natural = Annotated[int, "a count from 0"]

_INT = re.compile(r"-?[0-9]{1,19}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,32}")
_INT64 = range(-(2**63), 2**63)


class Cursor:
    """A kind of cursor: subclasses are frozen dataclasses with a unique `TAG`."""

    __slots__ = ()
    TAG: ClassVar[str]


@dataclass(frozen=True, slots=True)
class TimeIdCursor(Cursor):
    """A keyset (time, id) of a list newest (or oldest) first: comments, followers, likers,
    notifications, an author's posts, a tag's recent posts, the CHRONOLOGICAL home feed."""

    TAG: ClassVar[str] = "t1"
    micros: Micros
    item_id: int

    @property
    def keyset(self) -> tuple[datetime, int]:
        return datetime_of(self.micros), self.item_id


@dataclass(frozen=True, slots=True)
class FeedSnapshotCursor(Cursor):
    """RANKED home feed: the position after `offset` posts of a stored ranked order."""

    TAG: ClassVar[str] = "r1"
    snapshot_id: str
    offset: Natural


@dataclass(frozen=True, slots=True)
class FeedTailCursor(Cursor):
    """RANKED home feed past its ranked window: a keyset (published at, post id) below it."""

    TAG: ClassVar[str] = "r2"
    micros: Micros
    post_id: int


@dataclass(frozen=True, slots=True)
class ExploreCursor(Cursor):
    """Explore: the position after `offset` posts of a stored explore snapshot."""

    TAG: ClassVar[str] = "x1"
    snapshot_id: str
    offset: Natural


@dataclass(frozen=True, slots=True)
class HashtagTopCursor(Cursor):
    """A tag's TOP posts: a keyset (score, published at, post id) in the window from `since`."""

    TAG: ClassVar[str] = "h1"
    since_micros: Micros
    score: int
    published_micros: Micros
    post_id: int


@dataclass(frozen=True, slots=True)
class HashtagOlderCursor(Cursor):
    """A tag's TOP posts below the window: a keyset (published at, post id)."""

    TAG: ClassVar[str] = "h2"
    published_micros: Micros
    post_id: int


@dataclass(frozen=True, slots=True)
class SearchCursor(Cursor):
    """Post search, from before paging sessions had a start: a keyset (score, published at,
    post id)."""

    TAG: ClassVar[str] = "s1"
    score: float
    published_micros: Micros
    post_id: int


@dataclass(frozen=True, slots=True)
class SearchSessionCursor(Cursor):
    """Post search: a keyset (score, published at, post id) of the session begun `as_of`."""

    TAG: ClassVar[str] = "s2"
    score: float
    published_micros: Micros
    post_id: int
    as_of_micros: Micros


@dataclass(frozen=True, slots=True)
class ModerationQueueCursor(Cursor):
    """The moderation queue: a keyset (priority, case id), both descending."""

    TAG: ClassVar[str] = "m1"
    priority: float
    case_id: int


C = TypeVar("C", bound=Cursor)
C2 = TypeVar("C2", bound=Cursor)
C3 = TypeVar("C3", bound=Cursor)


def _parse_int(text: str) -> int:
    if not _INT.fullmatch(text) or (value := int(text)) not in _INT64:
        raise ValueError(text)
    return value


def _parse_natural(text: str) -> int:
    if (value := _parse_int(text)) < 0:
        raise ValueError(text)
    return value


def _parse_micros(text: str) -> int:
    if not MIN_MICROS <= (value := _parse_int(text)) <= MAX_MICROS:
        raise ValueError(text)
    return value


def _parse_token(text: str) -> str:
    if not _TOKEN.fullmatch(text):
        raise ValueError(text)
    return text


def _parse_float(text: str) -> float:
    if not math.isfinite(value := float.fromhex(text)):
        raise ValueError(text)
    return value


def _format_float(value: float) -> str:
    return value.hex()


_PARSERS: dict[object, Callable[[str], Any]] = {
    Micros: _parse_micros,
    Natural: _parse_natural,
    int: _parse_int,
    str: _parse_token,
    float: _parse_float,
}


@dataclass(frozen=True, slots=True)
class _Kind:
    """How one kind of cursor is written and read."""

    cls: type[Cursor]
    template: str
    """`tag:%s:%s...`, filled with the fields' texts."""
    values: Callable[[Cursor], tuple[Any, ...]]
    formats: tuple[Callable[[Any], str], ...] | None
    """Per field, how to write it; None when str() writes them all."""
    parsers: tuple[Callable[[str], Any], ...]


_KINDS: dict[str, _Kind] = {}
_KIND_OF: dict[type[Cursor], _Kind] = {}


def _register(cls: type[Cursor]) -> None:
    hints = get_type_hints(cls, include_extras=True)
    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    types = [hints[name] for name in names]
    assert cls.TAG not in _KINDS, f"cursor tag {cls.TAG} taken"
    assert ":" not in cls.TAG
    assert all(kind in _PARSERS for kind in types), f"a field type of {cls} has no parser"
    getter = attrgetter(*names)
    formats = tuple(_format_float if kind is float else str for kind in types)
    spec = _Kind(
        cls=cls,
        template=":".join([cls.TAG, *["%s"] * len(names)]),
        values=getter if len(names) > 1 else lambda cursor: (getter(cursor),),
        formats=None if all(f is str for f in formats) else formats,
        parsers=tuple(_PARSERS[kind] for kind in types),
    )
    _KINDS[cls.TAG] = _KIND_OF[cls] = spec


for _cls in (
    TimeIdCursor,
    FeedSnapshotCursor,
    FeedTailCursor,
    ExploreCursor,
    HashtagTopCursor,
    HashtagOlderCursor,
    SearchCursor,
    SearchSessionCursor,
    ModerationQueueCursor,
):
    _register(_cls)


def encode(cursor: Cursor) -> str:
    """The opaque text of a cursor."""
    kind = _KIND_OF[type(cursor)]
    values = kind.values(cursor)
    if kind.formats is not None:
        values = tuple(write(value) for write, value in zip(kind.formats, values, strict=True))
    raw = kind.template % values
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@overload
def decode(cursor: str, kind: type[C], /, *, of: str = ...) -> C: ...


@overload
def decode(cursor: str, kind: type[C], kind2: type[C2], /, *, of: str = ...) -> C | C2: ...


@overload
def decode(
    cursor: str, kind: type[C], kind2: type[C2], kind3: type[C3], /, *, of: str = ...
) -> C | C2 | C3: ...


def decode(cursor: str, *kinds: type[Cursor], of: str = "list") -> Cursor:
    """The cursor as one of `kinds` (those the list accepts). Raises InvalidArgumentError
    ("`after` is not a cursor of this <of>.") for anything else: not base64url, another
    list's kind, a field count or a field that does not check out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, *texts = raw.split(":")
        kind = _KINDS.get(tag)
        if kind is None or kind.cls not in kinds or len(texts) != len(kind.parsers):
            raise ValueError(tag)
        return kind.cls(*[parse(text) for parse, text in zip(kind.parsers, texts, strict=True)])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgumentError(f"`after` is not a cursor of this {of}.") from None


def encode_time_id_cursor(at: datetime, item_id: int) -> str:
    """The cursor of the keyset (at, item_id) (a TimeIdCursor)."""
    return encode(TimeIdCursor(micros_of(at), item_id))


def decode_time_id_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The keyset of a TimeIdCursor; None for None. Raises InvalidArgumentError for any other
    text."""
    return None if cursor is None else decode(cursor, TimeIdCursor).keyset
