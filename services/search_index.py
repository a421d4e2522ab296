"""Keeping a search index current: what the jobs run after a commit, and the full rebuild."""

from __future__ import annotations

from collections.abc import Sequence

from storage.search import Progress, SearchBackend


async def index_post(backend: SearchBackend, post_id: int, hashtags: Sequence[str]) -> None:
    """Bring the post's document (indexed if published, else removed) and the tags whose counts
    it changed up to date with PostgreSQL. Idempotent. Side effects: index writes only."""
    await backend.index_posts([post_id])
    if hashtags:
        await backend.index_hashtags(hashtags)


async def index_user(backend: SearchBackend, user_id: int) -> None:
    """Bring the user's document up to date with PostgreSQL. Idempotent."""
    await backend.index_users([user_id])


async def rebuild_index(backend: SearchBackend, progress: Progress | None = None) -> int:
    """Rebuild the whole index from PostgreSQL (see the backend's `rebuild`)."""
    return await backend.rebuild(progress)
