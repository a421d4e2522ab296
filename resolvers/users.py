"""Field resolvers about users: the follow lists and the viewer-relative flags.

They return domain data (records, pages); the schema types map it to GraphQL objects.
"""

from __future__ import annotations

from resolvers.context import Context
from services import (
    account_recovery,
    data_export,
    follows,
    profile_pictures,
    safety,
    sessions,
    two_factor,
    visibility,
)
from services.data_export import ExportState
from services.pagination import Page
from services.records import SessionListing
from services.visibility import Relation
from storage.pg.account_tokens import AccountEmail
from storage.pg.media import StoredVariant
from storage.pg.users import UserRecord

EMPTY: Page[UserRecord] = Page(edges=[], has_next_page=False)


async def viewer_is_following(context: Context, user_id: int) -> bool:
    return await context.loaders.viewer_follows_by_user_id.load(user_id)


async def follows_viewer(context: Context, user_id: int) -> bool:
    return await context.loaders.follows_viewer_by_user_id.load(user_id)


async def relation(context: Context, user_id: int) -> Relation | None:
    """How the viewer stands with the user (None: no such user)."""
    return await context.loaders.relation_by_user_id.load(user_id)


async def may_see_user(context: Context, user_id: int) -> bool:
    """services.visibility.may_see_user for the request's viewer."""
    found = await relation(context, user_id)
    return found is not None and visibility.may_see_user(context.viewer_id, user_id, found)


async def may_see_content(context: Context, user_id: int) -> bool:
    """services.visibility.may_see_content for the request's viewer."""
    found = await relation(context, user_id)
    return found is not None and visibility.may_see_content(context.viewer_id, user_id, found)


async def followers_page(
    context: Context, user_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    return primed(
        context,
        await follows.list_followers(
            context.db, context.viewer_id, user_id, first=first, after=after
        ),
    )


async def following_page(
    context: Context, user_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    return primed(
        context,
        await follows.list_following(
            context.db, context.viewer_id, user_id, first=first, after=after
        ),
    )


async def follow_requests_page(
    context: Context, user_id: int, *, first: int, after: str | None
) -> tuple[Page[UserRecord], int] | None:
    """The pending requests to the user with their count; None unless the user is the viewer."""
    if context.viewer_id != user_id:
        return None
    page = await follows.list_requests(context.db, user_id, first=first, after=after)
    return primed(context, page), await follows.count_requests(context.db, user_id)


async def blocked_page(
    context: Context, user_id: int, *, first: int, after: str | None
) -> tuple[Page[UserRecord], int] | None:
    """The accounts the user blocked with their count; None unless the user is the viewer."""
    if context.viewer_id != user_id:
        return None
    page = await safety.list_blocked(context.db, user_id, first=first, after=after)
    return primed(context, page), await safety.count_listed(context.db, "blocks", user_id)


async def muted_page(
    context: Context, user_id: int, *, first: int, after: str | None
) -> tuple[Page[UserRecord], int] | None:
    """The accounts the user muted with their count; None unless the user is the viewer."""
    if context.viewer_id != user_id:
        return None
    page = await safety.list_muted(context.db, user_id, first=first, after=after)
    return primed(context, page), await safety.count_listed(context.db, "mutes", user_id)


def primed(context: Context, page: Page[UserRecord]) -> Page[UserRecord]:
    """The page, with its users seeded into user_by_id (fields that load them again: no query)."""
    context.loaders.prime_users([user for _, user in page.edges])
    return page


async def profile_picture(
    context: Context, user_id: int, min_width: int | None
) -> StoredVariant | None:
    """The crop of the user's picture to show at `min_width` (services.profile_pictures)."""
    crops = await context.loaders.profile_picture_by_user_id.load(user_id)
    return profile_pictures.choose_crop(crops, min_width)


async def own_account_email(context: Context, user_id: int) -> AccountEmail | None:
    """The account's address and its verification, when `user_id` is the viewer; else None
    (no one else ever sees them)."""
    if context.viewer is None or context.viewer_id != user_id:
        return None
    return await account_recovery.own_account_email(context.db, context.require_viewer().user_id)


async def own_sessions(context: Context, user_id: int) -> list[SessionListing] | None:
    """The viewer's live sessions when `user_id` is the viewer; else None (no one else ever
    sees them)."""
    if context.viewer is None or context.viewer_id != user_id:
        return None
    return await sessions.list_sessions(context.db, context.require_viewer())


async def own_two_factor_enabled(context: Context, user_id: int) -> bool | None:
    """Whether the viewer's log-ins need a second factor, when `user_id` is the viewer."""
    if context.viewer is None or context.viewer_id != user_id:
        return None
    return await two_factor.is_two_factor_on(context.db, context.require_viewer().user_id)


async def own_data_export(context: Context, user_id: int) -> ExportState | None:
    """The account's latest data export when `user_id` is the viewer; else None."""
    if context.viewer is None or context.viewer_id != user_id:
        return None
    return await data_export.export_state(context.resources.exports, user_id)
