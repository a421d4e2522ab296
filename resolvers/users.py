"""Field resolvers about users: the follow lists and the viewer-relative flags.

They return domain data (records, pages); the schema types map it to GraphQL objects.
"""

from __future__ import annotations

from resolvers.context import Context
from services import follows
from services.pagination import Page
from storage.pg.users import UserRecord


async def viewer_is_following(context: Context, user_id: int) -> bool:
    return await context.loaders.viewer_follows_by_user_id.load(user_id)


async def follows_viewer(context: Context, user_id: int) -> bool:
    return await context.loaders.follows_viewer_by_user_id.load(user_id)


async def followers_page(
    context: Context, user_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    return primed(
        context, await follows.list_followers(context.db, user_id, first=first, after=after)
    )


async def following_page(
    context: Context, user_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    return primed(
        context, await follows.list_following(context.db, user_id, first=first, after=after)
    )


def primed(context: Context, page: Page[UserRecord]) -> Page[UserRecord]:
    """The page, with its users seeded into user_by_id (fields that load them again: no query)."""
    context.loaders.prime_users([user for _, user in page.edges])
    return page
