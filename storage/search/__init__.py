"""Search backends behind one interface: PostgreSQL full-text search (the default) and
Elasticsearch. Backends answer with ids and ranking keys; callers load the rows from PostgreSQL
(the source of truth), so a stale index can hide or delay a result but never show deleted data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

PostSearchAfter = tuple[float, datetime, int]
"""Keyset position in caption results: (relevance score, published at, post id), descending."""

Progress = Callable[[str, int, int], None]
"""Reports (what, done, total) while an index is rebuilt."""


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """A sanitized query, as each kind of result needs it. An empty field matches nothing."""

    username_prefix: str
    """Lower case, only the username alphabet (a-z 0-9 . _)."""
    name_prefix: str
    """Lower case, single-spaced: matched against the start of full names."""
    hashtag_prefix: str
    """Case-folded word characters (a leading `#` removed)."""
    words: tuple[str, ...]
    """Case-folded words for captions; the last one also matches as a prefix."""


@dataclass(frozen=True, slots=True)
class PostHit:
    post_id: int
    score: float
    published_at: datetime

    @property
    def key(self) -> PostSearchAfter:
        return (self.score, self.published_at, self.post_id)


class SearchBackend(Protocol):
    """What every search backend does. Index methods are idempotent and read the current state
    from PostgreSQL (call them after the commit, from a job): a post that is no longer published,
    or a tag no longer used, leaves the index."""

    name: str

    async def search_users(self, terms: SearchTerms, *, limit: int) -> list[int]:
        """Ids of matching users, best first."""
        ...

    async def search_hashtags(self, terms: SearchTerms, *, limit: int) -> list[int]:
        """Ids of matching tags in use, best first."""
        ...

    async def search_posts(
        self,
        terms: SearchTerms,
        *,
        limit: int,
        after: PostSearchAfter | None,
        as_of: datetime | None = None,
    ) -> list[PostHit]:
        """Published posts whose caption matches, by relevance then newest, after `after`.

        `as_of` is when the paging session began (carried in its cursors). A backend that ranks
        a recency-bounded candidate set (PostgreSQL: the most recent matches, docs/search.md)
        takes only posts published by then, so every page ranks the same set; a backend that
        ranks every match (Elasticsearch) may ignore it.
        """
        ...

    async def index_posts(self, post_ids: Sequence[int]) -> None: ...

    async def index_users(self, user_ids: Sequence[int]) -> None: ...

    async def index_hashtags(self, names: Sequence[str]) -> None: ...

    async def rebuild(self, progress: Progress | None = None) -> int:
        """Rebuild the whole index from PostgreSQL; returns how many documents it holds."""
        ...

    async def close(self) -> None: ...
