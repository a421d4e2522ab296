"""The PostgreSQL search backend: prefix indexes on users and hashtags, and a GIN index on the
generated `posts.caption_tsv` (english stemming). PostgreSQL keeps these current in the writing
transaction, so the index methods have nothing to do.

Captions are ranked among the CAPTION_CANDIDATES most recent matches (all of them when fewer
match): ranking every match of a common word costs time in proportion to the whole table, and
the newest matches of a common word are found by walking the time index (docs/search.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.pg import Db
from storage.pg import hashtags as hashtag_store
from storage.pg import search as search_store
from storage.search import PostHit, PostSearchAfter, Progress, SearchTerms


def caption_tsquery(words: Sequence[str]) -> str:
    """A to_tsquery text that ANDs the words, the last one as a prefix (`'a' & 'b':*`).

    The words must be word characters only (SearchTerms guarantees it): quoting them keeps
    to_tsquery from reading any of them as an operator.
    """
    quoted = [f"'{word}'" for word in words]
    quoted[-1] += ":*"
    return " & ".join(quoted)


CAPTION_CANDIDATES = 500
"""How many of the most recent matches a caption search ranks (docs/search.md: the latency of
`python -m bench.search` grows with it; 500 keeps the worst query near 15 ms on a quiet box)."""


class PostgresSearch:
    name = "postgres"

    def __init__(self, db: Db, *, caption_candidates: int = CAPTION_CANDIDATES) -> None:
        if caption_candidates < 1:
            raise ValueError("caption_candidates must be at least 1")
        self.db = db
        self.caption_candidates = caption_candidates

    async def search_users(self, terms: SearchTerms, *, limit: int) -> list[int]:
        if not (terms.username_prefix or terms.name_prefix) or limit <= 0:
            return []
        users = await search_store.search_users_by_prefix(
            self.db,
            username_prefix=terms.username_prefix,
            name_prefix=terms.name_prefix,
            limit=limit,
        )
        return [user.id for user in users]

    async def search_hashtags(self, terms: SearchTerms, *, limit: int) -> list[int]:
        if not terms.hashtag_prefix or limit <= 0:
            return []
        found = await hashtag_store.search_hashtags_by_prefix(
            self.db, terms.hashtag_prefix, limit=limit
        )
        return [tag.id for tag in found]

    async def search_posts(
        self,
        terms: SearchTerms,
        *,
        limit: int,
        after: PostSearchAfter | None,
        as_of: datetime | None = None,
    ) -> list[PostHit]:
        """Ranked among the `caption_candidates` most recent matches published by `as_of`."""
        if not terms.words or limit <= 0:
            return []
        hits = await search_store.search_captions(
            self.db,
            caption_tsquery(terms.words),
            limit=limit,
            after=after,
            as_of=as_of,
            candidates=self.caption_candidates,
        )
        return [PostHit(hit.post_id, hit.rank, hit.published_at) for hit in hits]

    async def index_posts(self, post_ids: Sequence[int]) -> None:
        """Nothing to do: `caption_tsv` is a generated column."""

    async def index_users(self, user_ids: Sequence[int]) -> None:
        """Nothing to do: the prefix indexes are maintained by PostgreSQL."""

    async def index_hashtags(self, names: Sequence[str]) -> None:
        """Nothing to do: tags are searched in their own table."""

    async def rebuild(self, progress: Progress | None = None) -> int:
        """Nothing to rebuild; reports the indexed totals."""
        posts, users, tags = await search_store.count_indexable(self.db)
        if progress is not None:
            progress("documents", posts + users + tags, posts + users + tags)
        return posts + users + tags

    async def close(self) -> None:
        """The pool belongs to the caller."""
