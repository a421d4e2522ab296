"""The root `Subscription` type: live events pushed over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import Info

from resolvers.context import Context
from resolvers.notifications import NotificationSubscriptions
from schema.global_ids import decode_id_of_type
from schema.media import TERMINAL_STATUSES, Media
from services import media as media_service
from services.errors import DomainError
from storage import redis_keys


@strawberry.type
class MediaSubscriptions:
    @strawberry.subscription(
        description="Status changes of one of the viewer's own media items "
        "(PROCESSING -> READY | REJECTED | FAILED), and a video's processingProgress while "
        "it is transcoded. Ends after a final status."
    )
    async def media_status_changed(
        self, info: Info[Context, None], media_id: strawberry.ID
    ) -> AsyncGenerator[Media, None]:
        context = info.context
        viewer = context.require_viewer()
        record_id = decode_id_of_type(media_id, "Media")
        channel = redis_keys.user_events_channel(viewer.user_id)
        async with context.resources.events.listen(channel) as events:
            # Read the row only once subscribed, so that no change falls between the two.
            try:
                record = await media_service.fetch_own_media(context.db, viewer, record_id or 0)
            except DomainError as error:
                raise GraphQLError(
                    error.errors[0].message, extensions={"code": error.errors[0].code.value}
                ) from None
            if record.status in TERMINAL_STATUSES:
                yield Media.from_record(record, info)
                return
            while True:
                event = await events.get()
                if event.get("type") != "media_status" or event.get("media_id") != record.id:
                    continue
                record = await media_service.fetch_own_media(context.db, viewer, record.id)
                context.start_operation()  # fresh loaders for each event on a long-lived socket
                yield Media.from_record(record, info)
                if record.status in TERMINAL_STATUSES:
                    return


Subscription = merge_types("Subscription", (MediaSubscriptions, NotificationSubscriptions))
