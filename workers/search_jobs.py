"""arq jobs keeping the search index current after a commit (enqueued by storage.search.jobs).
Both read the current state from PostgreSQL, so running one twice, or late, is harmless."""

from __future__ import annotations

from typing import Any

from services import search_index
from workers.jobs import resources_of


async def search_index_post(ctx: dict[str, Any], post_id: int, hashtags: list[str]) -> None:
    """Re-index one post (published, edited or deleted) and the tags it changed."""
    await search_index.index_post(resources_of(ctx).search, post_id, hashtags)


async def search_index_user(ctx: dict[str, Any], user_id: int) -> None:
    """Re-index one user's profile."""
    await search_index.index_user(resources_of(ctx).search, user_id)
