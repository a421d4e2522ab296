"""The root `Query` type, merged from one class per domain."""

from __future__ import annotations

import asyncio

import strawberry
from strawberry.tools import merge_types
from strawberry.types import Info

from resolvers import posts as post_fields
from resolvers import users as user_fields
from resolvers.context import Context
from resolvers.discover import DiscoverQueries
from resolvers.feed import FeedQueries
from resolvers.moderation import ModerationQueries
from resolvers.notifications import NotificationQueries
from schema.global_ids import decode_global_id, decode_id_of_type
from schema.media import Media
from schema.node import Node
from schema.posts import Comment, Post
from schema.users import User
from services import accounts, comments, posts, visibility
from services.pagination import InvalidArgumentError

MAX_NODES_PER_REQUEST = 100


@strawberry.type
class CoreQueries:
    @strawberry.field(description="The signed-in user; null when anonymous.")
    async def viewer(self, info: Info[Context, None]) -> User | None:
        context = info.context
        if context.viewer is None:
            if context.auth_error:
                context.require_viewer()  # bad credentials are an error, not anonymity
            return None
        record = await context.loaders.user_by_id.load(context.viewer.user_id)
        return User.from_record(record) if record else None

    @strawberry.field(
        description="The user with this username (case-insensitive); null when there is none "
        "or a block stands between the viewer and them."
    )
    async def user(self, info: Info[Context, None], username: str) -> User | None:
        record = await accounts.fetch_user_by_username(info.context.db, username)
        if record is None or not await user_fields.may_see_user(info.context, record.id):
            return None
        info.context.loaders.prime_users([record])
        return User.from_record(record)

    @strawberry.field(description="A published post, or one of the viewer's own; else null.")
    async def post(self, info: Info[Context, None], id: strawberry.ID) -> Post | None:
        post_id = decode_id_of_type(id, "Post")
        if post_id is None:
            return None
        return await Post.load(post_id, info)

    @strawberry.field(description="The object with this global ID, or null.")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        (found,) = await _load_nodes(info, [id])
        return found

    @strawberry.field(description="The objects with these global IDs, null where none exists.")
    async def nodes(self, info: Info[Context, None], ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES_PER_REQUEST:
            raise InvalidArgumentError(f"At most {MAX_NODES_PER_REQUEST} ids per request.")
        return await _load_nodes(info, ids)


async def _load_nodes(info: Info[Context, None], ids: list[strawberry.ID]) -> list[Node | None]:
    """Resolve global IDs through each type's batch loader (one query per type, not per id)."""
    loaders = info.context.loaders
    decoded = [decode_global_id(global_id) for global_id in ids]
    user_ids = [key[1] for key in decoded if key and key[0] == "User"]
    media_ids = [key[1] for key in decoded if key and key[0] == "Media"]
    post_ids = [key[1] for key in decoded if key and key[0] == "Post"]
    comment_ids = [key[1] for key in decoded if key and key[0] == "Comment"]
    viewer_id = info.context.viewer_id
    users, relations, media, post_views, comment_records = await asyncio.gather(
        loaders.user_by_id.load_many(user_ids),
        loaders.relation_by_user_id.load_many(user_ids),
        loaders.media_by_id.load_many(media_ids),
        post_fields.load_views(info.context, post_ids),
        comments.fetch_comments(info.context.db, viewer_id, comment_ids),
    )
    nodes: dict[tuple[str, int], Node] = {}
    for view in post_views:
        if posts.is_visible(view, viewer_id):
            nodes["Post", view.post.id] = Post.from_view(view, info)
    for comment in comment_records:
        nodes["Comment", comment.id] = Comment.from_record(comment)
    for user, relation in zip(users, relations, strict=True):
        if user is not None and visibility.may_see_user(viewer_id, user.id, relation):
            nodes["User", user.id] = User.from_record(user)
    for item in media:  # the loader returns only media the viewer may see
        if item is not None:
            nodes["Media", item.id] = Media.from_record(item, info)
    return [nodes.get(key) if key else None for key in decoded]


Query = merge_types(
    "Query",
    (CoreQueries, FeedQueries, DiscoverQueries, NotificationQueries, ModerationQueries),
)
