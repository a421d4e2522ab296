"""arq jobs keeping the search index current after a commit (enqueued by storage.search.jobs).
Both read the current state from PostgreSQL, so running one twice, or late, is harmless."""

from __future__ import annotations

from typing import Any

from services import search_index
from storage.search import SearchBackend
from storage.search.postgres import PostgresSearch
from workers.jobs import resources_of


def search_backend_of(ctx: dict[str, Any]) -> SearchBackend:
    resources = resources_of(ctx)
    backend: SearchBackend | None = getattr(resources, "search", None)
    return backend if backend is not None else PostgresSearch(resources.db)


async def search_index_post(ctx: dict[str, Any], post_id: int, hashtags: list[str]) -> None:
    """Re-index one post (published, edited or deleted) and the tags it changed."""
    await search_index.index_post(search_backend_of(ctx), post_id, hashtags)


async def search_index_user(ctx: dict[str, Any], user_id: int) -> None:
    """Re-index one user's profile."""
    await search_index.index_user(search_backend_of(ctx), user_id)
