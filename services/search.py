"""Search: people by username or full-name prefix, hashtags by prefix, posts by caption text.

Queries are cut to MAX_QUERY_LENGTH characters and reduced to words; a query with no word
characters (empty, only symbols) finds nothing, without an error. Results come back as rows
loaded from PostgreSQL in the backend's order: anything the index still holds but PostgreSQL no
longer shows (a deleted post, a tag no longer used) is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from services.cursors import SearchCursor, SearchSessionCursor, decode, encode
from services.pagination import Page, check_page_size
from storage.micros import datetime_of, micros_of
from storage.pg import Db
from storage.pg import hashtags as hashtag_store
from storage.pg import posts as post_store
from storage.pg import users as user_store
from storage.pg.hashtags import HashtagRecord
from storage.pg.posts import PostRecord
from storage.pg.users import UserRecord
from storage.search import PostHit, PostSearchAfter, SearchBackend, SearchTerms

MAX_QUERY_LENGTH = 100
MAX_WORDS = 8
MAX_WORD_LENGTH = 50
_WORD = re.compile(r"\w+")
_NOT_USERNAME = re.compile(r"[^a-z0-9._]")


def parse_query(text: str) -> SearchTerms:
    """Sanitize a search box's text into the terms each kind of result uses (pure)."""
    folded = unicodedata.normalize("NFKC", text[:MAX_QUERY_LENGTH]).casefold()
    words = tuple(word[:MAX_WORD_LENGTH] for word in _WORD.findall(folded))[:MAX_WORDS]
    if not words:
        return SearchTerms("", "", "", ())
    first = folded.split()[0].lstrip("@#") if folded.split() else ""
    username = first if first and not _NOT_USERNAME.search(first) else ""
    name = " ".join(folded.split())
    return SearchTerms(
        username_prefix=username,
        name_prefix=name if any(c.isalnum() for c in name) else "",
        hashtag_prefix=words[0] if len(words) == 1 else "",
        words=words,
    )


@dataclass(frozen=True, slots=True)
class SearchResults:
    users: list[UserRecord]
    hashtags: list[HashtagRecord]


async def search_people_and_tags(
    db: Db, backend: SearchBackend, query: str, *, first: int, viewer_id: int | None = None
) -> SearchResults:
    """Users and tags matching `query`, best first, at most `first` of each; users with a block
    between them and the viewer (None: anonymous) are left out (services.visibility, in SQL,
    by id after the search: the same for every backend). No side effects."""
    limit = check_page_size(first)
    terms = parse_query(query)
    user_ids = await backend.search_users(terms, limit=limit)
    tag_ids = await backend.search_hashtags(terms, limit=limit)
    users = {
        user.id: user
        for user in await user_store.fetch_visible_users_by_ids(db, user_ids, viewer_id)
    }
    tags = {
        tag.id: tag
        for tag in await hashtag_store.fetch_hashtags_by_ids(db, tag_ids)
        if tag.post_count > 0
    }
    return SearchResults(
        users=[users[i] for i in user_ids if i in users],
        hashtags=[tags[i] for i in tag_ids if i in tags],
    )


async def search_posts(
    db: Db,
    backend: SearchBackend,
    query: str,
    *,
    first: int,
    after: str | None,
    now: datetime | None = None,
    viewer_id: int | None = None,
) -> Page[PostRecord]:
    """Published posts whose caption matches `query` (stemmed words, the last one as a prefix)
    and that the viewer (None: anonymous) may see, most relevant first, then newest; one keyset
    page. No side effects. Hits are filtered by id after the search, with the visibility rule
    in SQL (services.visibility), the same for every backend: a page may hold fewer than
    `first` posts when some are hidden (has_next_page still tells whether more follow).

    The first page's time (`now`, the clock by default) travels in the cursors: on PostgreSQL,
    relevance is ranked among the most recent matches published by then (docs/search.md), so
    posts published while a client pages neither push others out of the ranked set nor repeat.
    """
    limit = check_page_size(first)
    position, as_of = _decode_cursor(after)
    if after is None:
        as_of = now or datetime.now(UTC)
    terms = parse_query(query)
    hits = await backend.search_posts(terms, limit=limit + 1, after=position, as_of=as_of)
    records = {
        post.id: post
        for post in await post_store.fetch_visible_posts_by_ids(
            db, [hit.post_id for hit in hits], viewer_id
        )
        if post.status == "PUBLISHED"
    }
    items = [
        (_encode_cursor(hit, as_of), records[hit.post_id]) for hit in hits if hit.post_id in records
    ]
    return Page(edges=items[:limit], has_next_page=len(hits) > limit)


def _encode_cursor(hit: PostHit, as_of: datetime | None) -> str:
    published = micros_of(hit.published_at)
    if as_of is None:  # continuing a cursor made before as_of existed
        return encode(SearchCursor(hit.score, published, hit.post_id))
    return encode(SearchSessionCursor(hit.score, published, hit.post_id, micros_of(as_of)))


def _decode_cursor(after: str | None) -> tuple[PostSearchAfter | None, datetime | None]:
    """(keyset position, the paging session's start: None for an `s1` cursor)."""
    if after is None:
        return None, None
    cursor = decode(after, SearchCursor, SearchSessionCursor)
    keyset = (cursor.score, datetime_of(cursor.published_micros), cursor.post_id)
    if isinstance(cursor, SearchSessionCursor):
        return keyset, datetime_of(cursor.as_of_micros)
    return keyset, None
