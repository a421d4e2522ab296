"""The Elasticsearch search backend (official async client).

Three indexes, each reached through an alias (`<prefix>-posts`, `-users`, `-hashtags`) that
points at one concrete index (`<alias>-<timestamp>`). A rebuild fills fresh concrete indexes from
PostgreSQL with bulk requests, then swaps every alias in ONE `update_aliases` call (atomic:
searches see the old indexes or the new ones, never a mix or nothing) and drops the old ones.
Documents carry ids and ranking keys only; rows are read back from PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from elasticsearch import AsyncElasticsearch, NotFoundError
from elasticsearch.helpers import async_bulk, async_streaming_bulk

from storage.micros import datetime_of, micros_of
from storage.pg import Db
from storage.pg import hashtags as hashtag_store
from storage.pg import search as search_store
from storage.pg import users as user_store
from storage.pg.hashtags import HashtagRecord
from storage.pg.search import IndexablePost
from storage.pg.users import UserRecord
from storage.search import PostHit, PostSearchAfter, Progress, SearchTerms

BATCH = 1000


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


_Row = TypeVar("_Row", bound=_Identified)

SETTINGS: dict[str, Any] = {
    "analysis": {
        "filter": {
            "english_stemmer": {"type": "stemmer", "language": "english"},
            "english_possessive": {"type": "stemmer", "language": "possessive_english"},
            "english_stop": {"type": "stop", "stopwords": "_english_"},
            "prefix_grams": {"type": "edge_ngram", "min_gram": 1, "max_gram": 64},
        },
        "analyzer": {
            "caption": {
                "tokenizer": "standard",
                "filter": ["english_possessive", "lowercase", "english_stop", "english_stemmer"],
            },
            "name_prefix_index": {
                "tokenizer": "keyword",
                "filter": ["lowercase", "prefix_grams"],
            },
            "name_prefix_search": {"tokenizer": "keyword", "filter": ["lowercase"]},
        },
    },
    "number_of_shards": 1,
}
_PREFIX_FIELD = {
    "type": "text",
    "analyzer": "name_prefix_index",
    "search_analyzer": "name_prefix_search",
}
MAPPINGS: dict[str, dict[str, Any]] = {
    "posts": {
        "dynamic": "strict",
        "properties": {
            "post_id": {"type": "long"},
            "author_id": {"type": "long"},
            "caption": {"type": "text", "analyzer": "caption"},
            "published_us": {"type": "long"},
        },
    },
    "users": {
        "dynamic": "strict",
        "properties": {
            "user_id": {"type": "long"},
            "username": {"type": "keyword", "fields": {"prefix": _PREFIX_FIELD}},
            "full_name": {"type": "keyword", "fields": {"prefix": _PREFIX_FIELD}},
            "follower_count": {"type": "integer"},
        },
    },
    "hashtags": {
        "dynamic": "strict",
        "properties": {
            "hashtag_id": {"type": "long"},
            "name": {"type": "keyword", "fields": {"prefix": _PREFIX_FIELD}},
            "post_count": {"type": "integer"},
        },
    },
}


def post_document(post: IndexablePost) -> dict[str, Any]:
    return {
        "post_id": post.id,
        "author_id": post.author_id,
        "caption": post.caption or "",
        "published_us": micros_of(post.published_at),
    }


def user_document(user: UserRecord) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "username": user.username,
        "full_name": (user.full_name or "").lower() or None,
        "follower_count": user.follower_count,
    }


def hashtag_document(tag: HashtagRecord) -> dict[str, Any]:
    return {"hashtag_id": tag.id, "name": tag.name, "post_count": tag.post_count}


class ElasticsearchSearch:
    name = "elasticsearch"

    def __init__(self, url: str, db: Db, *, prefix: str = "shutter") -> None:
        self.client = AsyncElasticsearch(url)
        self.db = db
        self.prefix = prefix

    def alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    async def ensure_indexes(self) -> None:
        """Create an empty index behind each missing alias. Side effect: index creation."""
        for kind in MAPPINGS:
            if not await self.client.indices.exists_alias(name=self.alias(kind)):
                index = f"{self.alias(kind)}-{time.time_ns()}"
                await self.client.indices.create(
                    index=index,
                    settings=SETTINGS,
                    mappings=MAPPINGS[kind],
                    aliases={self.alias(kind): {}},
                )

    async def search_users(self, terms: SearchTerms, *, limit: int) -> list[int]:
        if not (terms.username_prefix or terms.name_prefix) or limit <= 0:
            return []
        should: list[dict[str, Any]] = []
        if terms.username_prefix:
            should += [
                {"term": {"username": {"value": terms.username_prefix, "boost": 10}}},
                {"match": {"username.prefix": {"query": terms.username_prefix, "boost": 2}}},
            ]
        if terms.name_prefix:
            should.append({"match": {"full_name.prefix": {"query": terms.name_prefix}}})
        response = await self.client.search(
            index=self.alias("users"),
            query={"bool": {"should": should, "minimum_should_match": 1}},
            sort=[{"_score": "desc"}, {"follower_count": "desc"}, {"username": "asc"}],
            size=limit,
            source=False,
        )
        return [int(hit["_id"]) for hit in response["hits"]["hits"]]

    async def search_hashtags(self, terms: SearchTerms, *, limit: int) -> list[int]:
        if not terms.hashtag_prefix or limit <= 0:
            return []
        prefix = terms.hashtag_prefix
        response = await self.client.search(
            index=self.alias("hashtags"),
            query={
                "bool": {
                    "filter": [
                        {"match": {"name.prefix": prefix}},
                        {"range": {"post_count": {"gt": 0}}},
                    ],
                    "should": [{"term": {"name": {"value": prefix}}}],
                }
            },
            sort=[{"_score": "desc"}, {"post_count": "desc"}, {"name": "asc"}],
            size=limit,
            source=False,
        )
        return [int(hit["_id"]) for hit in response["hits"]["hits"]]

    async def search_posts(
        self,
        terms: SearchTerms,
        *,
        limit: int,
        after: PostSearchAfter | None,
        as_of: datetime | None = None,
    ) -> list[PostHit]:
        """Every match is ranked, so `as_of` (see SearchBackend) is not needed and ignored."""
        if not terms.words or limit <= 0:
            return []
        extra: dict[str, Any] = {}
        if after is not None:
            extra["search_after"] = [after[0], micros_of(after[1]), after[2]]
        response = await self.client.search(
            index=self.alias("posts"),
            query={
                "match_bool_prefix": {
                    "caption": {"query": " ".join(terms.words), "operator": "and"}
                }
            },
            sort=[{"_score": "desc"}, {"published_us": "desc"}, {"post_id": "desc"}],
            track_scores=True,
            size=limit,
            source=False,
            **extra,
        )
        return [
            PostHit(int(post_id), float(score), datetime_of(int(published)))
            for score, published, post_id in (hit["sort"] for hit in response["hits"]["hits"])
        ]

    async def index_posts(self, post_ids: Sequence[int]) -> None:
        """Index the published ones among `post_ids`, delete the others' documents."""
        if not post_ids:
            return
        found = await search_store.fetch_indexable_posts(
            self.db, after_id=0, limit=len(post_ids), ids=post_ids
        )
        live = {post.id for post in found}
        actions: list[dict[str, Any]] = [
            {"_index": self.alias("posts"), "_id": post.id, "_source": post_document(post)}
            for post in found
        ]
        actions += [
            {"_op_type": "delete", "_index": self.alias("posts"), "_id": post_id}
            for post_id in post_ids
            if post_id not in live
        ]
        await async_bulk(self.client, actions, raise_on_error=False)

    async def index_users(self, user_ids: Sequence[int]) -> None:
        users = await user_store.fetch_users_by_ids(self.db, user_ids)
        actions = [
            {"_index": self.alias("users"), "_id": user.id, "_source": user_document(user)}
            for user in users
        ]
        await async_bulk(self.client, actions)

    async def index_hashtags(self, names: Sequence[str]) -> None:
        """Index the tags with their current counts (a count of 0 hides a tag from search)."""
        tags = await hashtag_store.fetch_hashtags_by_names(self.db, names)
        actions = [
            {"_index": self.alias("hashtags"), "_id": tag.id, "_source": hashtag_document(tag)}
            for tag in tags
        ]
        await async_bulk(self.client, actions)

    async def rebuild(self, progress: Progress | None = None) -> int:
        """Fill new indexes from PostgreSQL, swap the aliases atomically, drop the old indexes.

        Writes that land on the old indexes while this runs are not carried over: run the
        rebuild when the index is wrong, and let later events catch up.
        """
        stamp = time.time_ns()
        fresh = {kind: f"{self.alias(kind)}-{stamp}" for kind in MAPPINGS}
        for kind, index in fresh.items():
            await self.client.indices.create(
                index=index,
                settings=SETTINGS | {"refresh_interval": "-1", "number_of_replicas": 0},
                mappings=MAPPINGS[kind],
            )
        total_posts, total_users, total_tags = await search_store.count_indexable(self.db)
        posts = self._actions(fresh["posts"], search_store.fetch_indexable_posts, post_document)
        users = self._actions(fresh["users"], search_store.fetch_users_page, user_document)
        tags = self._actions(fresh["hashtags"], hashtag_store.fetch_hashtags_page, hashtag_document)
        done = await self._load("posts", posts, total_posts, progress)
        done += await self._load("users", users, total_users, progress)
        done += await self._load("hashtags", tags, total_tags, progress)
        for index in fresh.values():
            await self.client.indices.put_settings(index=index, settings={"refresh_interval": "1s"})
            await self.client.indices.refresh(index=index)
        await self._swap_aliases(fresh)
        return done

    async def _load(
        self,
        what: str,
        actions: AsyncIterator[dict[str, Any]],
        total: int,
        progress: Progress | None,
    ) -> int:
        done = 0
        async for ok, _ in _stream(self.client, actions):
            done += int(ok)
            if progress is not None and done % BATCH == 0:
                progress(what, done, total)
        if progress is not None:
            progress(what, done, total)
        return done

    async def _swap_aliases(self, fresh: dict[str, str]) -> None:
        actions: list[dict[str, Any]] = []
        old: list[str] = []
        for kind, index in fresh.items():
            alias = self.alias(kind)
            try:
                current = await self.client.indices.get_alias(name=alias)
                old += list(current.body)
            except NotFoundError:
                pass
            actions.append({"add": {"index": index, "alias": alias}})
        actions += [{"remove_index": {"index": index}} for index in old]
        await self.client.indices.update_aliases(actions=actions)

    async def _actions(
        self,
        index: str,
        fetch_page: Callable[..., Awaitable[Sequence[_Row]]],
        document: Callable[[_Row], dict[str, Any]],
    ) -> AsyncIterator[dict[str, Any]]:
        """Index actions for every row, read in id order `BATCH` at a time through
        `fetch_page(db, after_id=..., limit=...)`."""
        after = 0
        while rows := await fetch_page(self.db, after_id=after, limit=BATCH):
            for row in rows:
                yield {"_index": index, "_id": row.id, "_source": document(row)}
            after = rows[-1].id

    async def refresh(self) -> None:
        """Make every indexed change searchable now (tests; production waits for the interval)."""
        for kind in MAPPINGS:
            await self.client.indices.refresh(index=self.alias(kind))

    async def drop(self) -> None:
        """Delete every index behind this backend's aliases (tests)."""
        for kind in MAPPINGS:
            try:
                current = await self.client.indices.get_alias(name=self.alias(kind))
            except NotFoundError:
                continue
            for index in current.body:
                await self.client.indices.delete(index=index)

    async def close(self) -> None:
        await self.client.close()


async def _stream(
    client: AsyncElasticsearch, actions: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[tuple[bool, Any]]:
    """Bulk-index `actions` in chunks of BATCH, yielding (ok, item) per document."""
    async for ok, item in async_streaming_bulk(client, actions, chunk_size=BATCH):
        yield ok, item
