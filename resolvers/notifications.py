"""Queries, mutations and subscriptions about the viewer's notifications and live counts."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.errors import user_errors
from schema.global_ids import decode_id_of_type
from schema.notifications import (
    MarkNotificationsReadInput,
    MarkNotificationsReadPayload,
    Notification,
    NotificationConnection,
)
from schema.pagination import Connection
from schema.posts import Post
from services import notifications, posts
from services.errors import DomainError, UserErrorCode
from storage import redis_keys


@strawberry.type
class NotificationQueries:
    @strawberry.field(description="The viewer's notifications, newest first.")
    async def notifications(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> NotificationConnection:
        viewer = info.context.require_viewer()
        page = await notifications.list_notifications(
            info.context.db, viewer.user_id, first=first, after=after
        )
        return Connection.of(page, Notification.from_record, after=after)

    @strawberry.field
    async def unread_notification_count(self, info: Info[Context, None]) -> int:
        viewer = info.context.require_viewer()
        return await notifications.unread_count(info.context.db, viewer.user_id)


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(
        description="Marks the viewer's notifications read, up to and including `input.upTo` "
        "(all when null)."
    )
    async def mark_notifications_read(
        self, info: Info[Context, None], input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadPayload:
        viewer = info.context.require_viewer()
        client_mutation_id = input.client_mutation_id
        up_to_id = None
        if input.up_to is not None:
            up_to_id = decode_id_of_type(input.up_to, "Notification")
            if up_to_id is None:
                error = DomainError.single(UserErrorCode.NOT_FOUND, "No such notification.", "upTo")
                unread = await notifications.unread_count(info.context.db, viewer.user_id)
                return MarkNotificationsReadPayload(
                    unread_notification_count=unread,
                    user_errors=user_errors(error),
                    client_mutation_id=client_mutation_id,
                )
        unread = await notifications.mark_read(info.context.db, viewer.user_id, up_to=up_to_id)
        return MarkNotificationsReadPayload(
            unread_notification_count=unread, client_mutation_id=client_mutation_id
        )


@strawberry.type
class NotificationSubscriptions:
    @strawberry.subscription(
        description="Live notifications of the signed-in user, delivered by whichever server "
        "process holds the socket."
    )
    async def notification_received(
        self, info: Info[Context, None]
    ) -> AsyncGenerator[Notification, None]:
        context = info.context
        viewer = context.require_viewer()
        channel = redis_keys.user_events_channel(viewer.user_id)
        async with context.resources.events.listen(channel) as events:
            while True:
                event = await events.get()
                if event.get("type") != "notification":
                    continue
                record = await notifications.fetch_notification(
                    context.db, viewer.user_id, int(event["notification_id"])
                )
                if record is not None:
                    context.start_operation()  # fresh loaders for each event
                    yield Notification.from_record(record)

    @strawberry.subscription(description="Live like and comment counts of one post.")
    async def post_counts_changed(
        self, info: Info[Context, None], post_id: strawberry.ID
    ) -> AsyncGenerator[Post, None]:
        context = info.context
        record_id = decode_id_of_type(post_id, "Post")
        if record_id is None:
            return
        channel = redis_keys.post_events_channel(record_id)
        async with context.resources.events.listen(channel) as events:
            # Checked once subscribed, so that no change falls between the check and the listen.
            if await posts.fetch_visible_post(context.db, context.viewer_id, record_id) is None:
                return
            while True:
                event = await events.get()
                if event.get("type") != "counts":
                    continue
                context.start_operation()
                post = await Post.load(record_id, info)
                if post is None:
                    return
                yield post
