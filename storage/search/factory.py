"""Choosing and opening the search backend of a process."""

from __future__ import annotations

from typing import Literal

from storage.pg import Db
from storage.search import SearchBackend
from storage.search.postgres import PostgresSearch

BackendName = Literal["postgres", "elasticsearch"]


async def open_search_backend(
    db: Db, *, backend: BackendName, elasticsearch_url: str | None, index_prefix: str = "shutter"
) -> SearchBackend:
    """PostgreSQL full-text search, or Elasticsearch at `elasticsearch_url` (its aliases and
    indexes created when missing). Close it with `.close()`."""
    if backend == "postgres":
        return PostgresSearch(db)
    if not elasticsearch_url:
        raise ValueError("SEARCH_BACKEND=elasticsearch needs ELASTICSEARCH_URL")
    from storage.search.elasticsearch import ElasticsearchSearch  # loads the client only if used

    search = ElasticsearchSearch(elasticsearch_url, db, prefix=index_prefix)
    await search.ensure_indexes()
    return search
