"""One contract for every search backend: PostgreSQL always, Elasticsearch when ELASTICSEARCH_URL
is set. Each case runs the services (sanitizing, loading rows) over the backend under test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from resources import Resources
from services import discover, search
from services.cursors import SearchCursor, encode
from services.pagination import InvalidArgumentError
from storage.micros import micros_of
from storage.pg import Db
from storage.pg import posts as post_store
from storage.search import SearchBackend
from storage.search.postgres import PostgresSearch
from tests.discover_factories import make_published_post
from tests.factories import make_user

ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL")
NOW = datetime.now(UTC)


@pytest.fixture(
    params=[
        "postgres",
        pytest.param(
            "elasticsearch",
            marks=pytest.mark.skipif(
                not ELASTICSEARCH_URL,
                reason="ELASTICSEARCH_URL is not set (no Elasticsearch server to test against)",
            ),
        ),
    ]
)
async def backend(request: pytest.FixtureRequest, clean: Resources) -> AsyncIterator[SearchBackend]:
    await seed(clean)
    if request.param == "postgres":
        yield PostgresSearch(clean.db)
        return
    from storage.search.elasticsearch import ElasticsearchSearch

    assert ELASTICSEARCH_URL
    elastic = ElasticsearchSearch(ELASTICSEARCH_URL, clean.db, prefix=f"test-{uuid.uuid4().hex}")
    try:
        await elastic.rebuild()
        yield elastic
    finally:
        await elastic.drop()
        await elastic.close()


IDS: dict[str, int] = {}


async def seed(resources: Resources) -> None:
    db = resources.db
    for username, full_name in [
        ("alice", "Alice Liddell"),
        ("alicia.keys", None),
        ("bob", "Bob Alison"),
        ("ally_99", "Zoë Allen"),
    ]:
        IDS[username] = (await make_user(db, username, full_name=full_name)).id
    await db.execute("UPDATE users SET follower_count = 5 WHERE username = 'alicia.keys'")
    captions = {
        "park": ("Running in the park #sunrise #Summer", 3),
        "marathon": ("I ran my first marathon today", 2),
        "twice": ("Running, running, always running #sunrise", 5),
        "sunset": ("Sunsets are beautiful #sunset", 1),
        "deleted": ("running late #sunday", 4),
    }
    for key, (caption, hours_ago) in captions.items():
        post = await make_published_post(
            db, IDS["bob"], caption, published_at=NOW - timedelta(hours=hours_ago)
        )
        await discover.on_post_published(db, resources.redis, post)
        IDS[key] = post.id
    await post_store.mark_post_deleted(db, IDS["deleted"])
    await discover.on_post_deleted(db, resources.redis, IDS["deleted"])


async def people(resources: Resources, backend: SearchBackend, query: str) -> list[str]:
    found = await search.search_people_and_tags(resources.db, backend, query, first=10)
    return [user.username for user in found.users]


async def tags(resources: Resources, backend: SearchBackend, query: str) -> list[str]:
    found = await search.search_people_and_tags(resources.db, backend, query, first=10)
    return [tag.name for tag in found.hashtags]


async def captions(
    resources: Resources, backend: SearchBackend, query: str, first: int = 20
) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = await search.search_posts(resources.db, backend, query, first=first, after=after)
        seen += [post.id for _, post in page.edges]
        if not page.has_next_page:
            return seen
        after = page.edges[-1][0]


async def test_users_by_username_and_full_name_prefix(
    clean: Resources, backend: SearchBackend
) -> None:
    assert await people(clean, backend, "ali") == ["alicia.keys", "alice"]
    assert await people(clean, backend, "ALICE") == ["alice"]
    assert await people(clean, backend, "@alice") == ["alice"]
    assert await people(clean, backend, "Alice Lid") == ["alice"]
    assert await people(clean, backend, "zoë") == ["ally_99"]
    assert await people(clean, backend, "al") == ["alicia.keys", "alice", "ally_99"]
    assert await people(clean, backend, "alison") == []  # a later word is not a prefix


async def test_hashtags_by_prefix_in_use_only(clean: Resources, backend: SearchBackend) -> None:
    assert await tags(clean, backend, "sun") == ["sunrise", "sunset"]
    assert await tags(clean, backend, "#SUNSET") == ["sunset"]
    assert await tags(clean, backend, "summ") == ["summer"]
    assert await tags(clean, backend, "sunday") == []  # its only post was deleted


async def test_captions_by_stemmed_words_relevance_then_recency(
    clean: Resources, backend: SearchBackend
) -> None:
    assert await captions(clean, backend, "runs") == [IDS["twice"], IDS["park"]]
    assert await captions(clean, backend, "run") == [IDS["twice"], IDS["park"]]
    assert await captions(clean, backend, "marath") == [IDS["marathon"]]  # last word: a prefix
    assert await captions(clean, backend, "the park runner") == []
    assert await captions(clean, backend, "sunset") == [IDS["sunset"]]
    assert await captions(clean, backend, "running", first=1) == [IDS["twice"], IDS["park"]]


@pytest.mark.parametrize(
    "query", ["", "   ", "!!! ### @@@", "'; DROP TABLE posts; --", "x & !y | z:*", "x" * 10_000]
)
async def test_odd_queries_find_nothing_without_error(
    clean: Resources, backend: SearchBackend, query: str
) -> None:
    found = await search.search_people_and_tags(clean.db, backend, query, first=10)
    assert (found.users, found.hashtags) == ([], [])
    assert await captions(clean, backend, query) == []


async def test_bad_cursor_and_page_size(clean: Resources, backend: SearchBackend) -> None:
    with pytest.raises(InvalidArgumentError):
        await search.search_posts(clean.db, backend, "run", first=5, after="bm9wZQ")
    with pytest.raises(InvalidArgumentError):
        await search.search_posts(clean.db, backend, "run", first=101, after=None)


# PostgreSQL only: relevance among the most recent matches (docs/search.md).


async def fox_posts(resources: Resources) -> dict[str, int]:
    """Posts whose captions say "fox" 1 to 3 times (ts_rank grows with the count), at known
    times, and one that does not match."""
    author = await make_user(resources.db, "reynard")
    made = {}
    for key, caption, hours_ago in [
        ("thrice", "fox fox fox", 10),
        ("twice_old", "fox fox", 5),
        ("once_new", "a fox", 1),
        ("once", "the fox", 2),
        ("twice_new", "fox and fox", 3),
        ("other", "no match here", 0.5),
    ]:
        post = await make_published_post(
            resources.db, author.id, caption, published_at=NOW - timedelta(hours=hours_ago)
        )
        made[key] = post.id
    return made


async def fox_search(
    db: Db, candidates: int, *, first: int = 20, now: datetime = NOW, after: str | None = None
) -> list[int]:
    """Every page of a "fox" search from `after` on, as one list of ids."""
    backend = PostgresSearch(db, caption_candidates=candidates)
    seen: list[int] = []
    while True:
        page = await search.search_posts(db, backend, "fox", first=first, after=after, now=now)
        seen += [post.id for _, post in page.edges]
        if not page.has_next_page:
            return seen
        after = page.edges[-1][0]


async def test_captions_rank_the_most_recent_matches(clean: Resources) -> None:
    ids = await fox_posts(clean)
    everything = ["thrice", "twice_new", "twice_old", "once_new", "once"]
    newest_three = ["twice_new", "once_new", "once"]  # "thrice" and "twice_old" are older
    async with clean.db.acquire() as conn:
        # The same results whichever way PostgreSQL finds the candidates: walking the time
        # index (what it does for a common term) or reading the GIN index (a rare one).
        for plan in ("enable_bitmapscan = off", "enable_indexscan = off", "enable_seqscan = on"):
            await conn.execute(f"SET {plan}")
            for first in (1, 2, 20):
                assert await fox_search(conn, 500, first=first) == [ids[k] for k in everything]
                assert await fox_search(conn, 5, first=first) == [ids[k] for k in everything]
                assert await fox_search(conn, 3, first=first) == [ids[k] for k in newest_three]
            assert await fox_search(conn, 1) == [ids["once_new"]]
            await conn.execute("RESET ALL")
    with pytest.raises(ValueError, match="at least 1"):
        PostgresSearch(clean.db, caption_candidates=0)


async def test_caption_pages_keep_the_candidates_of_their_first_page(clean: Resources) -> None:
    ids = await fox_posts(clean)
    backend = PostgresSearch(clean.db, caption_candidates=3)
    first_page = await search.search_posts(clean.db, backend, "fox", first=1, after=None, now=NOW)
    assert [post.id for _, post in first_page.edges] == [ids["twice_new"]]
    # A new, most relevant match arrives while the client pages: the session still ranks the
    # three most recent matches of its first page's time, so nothing is skipped or repeated.
    author = await make_user(clean.db, "late")
    late = await make_published_post(
        clean.db, author.id, "fox fox fox fox", published_at=NOW + timedelta(seconds=1)
    )
    after = first_page.edges[0][0]
    assert await fox_search(clean.db, 3, first=1, after=after) == [ids["once_new"], ids["once"]]
    # A cursor made before the session start was carried (`s1`) still pages, with no bound.
    older_cursor = encode(SearchCursor(1.0, micros_of(NOW), 0))  # above every rank
    from_older = await fox_search(clean.db, 3, first=1, after=older_cursor)
    assert from_older == [late.id, ids["once_new"], ids["once"]]
    # A new search ranks the three most recent matches now: "twice_new" is no longer one.
    fresh = await fox_search(clean.db, 3, now=NOW + timedelta(minutes=1))
    assert fresh == [late.id, ids["once_new"], ids["once"]]
