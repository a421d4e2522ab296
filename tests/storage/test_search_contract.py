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
from services.pagination import InvalidArgumentError
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
