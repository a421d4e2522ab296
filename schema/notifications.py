"""`Notification`, and the input and payload of markNotificationsRead."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import posts as post_fields
from resolvers.context import Context
from schema.errors import MutationInput, Payload
from schema.moderation import ModerationNotice
from schema.node import Node
from schema.pagination import Connection
from schema.posts import Comment, Post
from schema.users import User
from services import moderation_queue
from services.records import NotificationRecord


@strawberry.enum
class NotificationKind(enum.Enum):
    LIKE = "LIKE"
    COMMENT = "COMMENT"
    FOLLOW = "FOLLOW"
    MENTION = "MENTION"
    FOLLOW_REQUEST = "FOLLOW_REQUEST"
    """Someone asks to follow the (private) recipient; the actor is the requester."""
    FOLLOW_ACCEPTED = "FOLLOW_ACCEPTED"
    """The actor approved the recipient's request to follow them."""
    DATA_EXPORT_READY = "DATA_EXPORT_READY"
    """The recipient's data export is ready: `viewer.dataExport.url` (the actor is the
    recipient)."""
    CONTENT_REMOVED = "CONTENT_REMOVED"
    """A moderator removed the recipient's post or comment: `moderation` says why (the actor
    is the recipient; the moderator is never named)."""
    MODERATION_WARNING = "MODERATION_WARNING"
    """A moderator warned the recipient (a strike): `moderation` says why."""
    APPEAL_DECIDED = "APPEAL_DECIDED"
    """The recipient's appeal is decided: `moderation.action` is RESTORE (overturned) or
    APPEAL_UPHELD, with the reason."""


@strawberry.type
class Notification(Node):
    kind: NotificationKind
    actor_count: int = strawberry.field(
        description="How many people in all ('alice and 4 others liked your post': 5)."
    )
    read: bool
    created_at: datetime
    record: strawberry.Private[NotificationRecord]

    @classmethod
    def from_record(cls, record: NotificationRecord) -> Notification:
        return cls(
            record_id=record.id,
            kind=NotificationKind(record.kind),
            actor_count=record.actor_count,
            read=record.read_at is not None,
            created_at=record.created_at,
            record=record,
        )

    @strawberry.field(description="The most recent actor.")
    async def actor(self, info: Info[Context, None]) -> User:
        return User.from_record(await post_fields.user(info.context, self.record.actor_id))

    @strawberry.field
    async def post(self, info: Info[Context, None]) -> Post | None:
        if self.record.post_id is None:
            return None
        return await Post.load(self.record.post_id, info)

    @strawberry.field(
        description="The decision a CONTENT_REMOVED, MODERATION_WARNING or APPEAL_DECIDED "
        "notification is about, and why; null for the other kinds."
    )
    async def moderation(self, info: Info[Context, None]) -> ModerationNotice | None:
        action_id = self.record.moderation_action_id
        if action_id is None:
            return None
        found = await moderation_queue.fetch_actions(info.context.db, [action_id])
        return ModerationNotice.from_record(found[0]) if found else None

    @strawberry.field
    async def comment(self, info: Info[Context, None]) -> Comment | None:
        if self.record.comment_id is None:
            return None
        record = await post_fields.comment(info.context, self.record.comment_id)
        return Comment.from_record(record) if record else None


@strawberry.input
class MarkNotificationsReadInput(MutationInput):
    up_to: strawberry.ID | None = strawberry.field(
        default=None,
        description="The newest notification to mark read (with every older one); null: all.",
    )


@strawberry.type
class MarkNotificationsReadPayload(Payload):
    unread_notification_count: int


NotificationConnection = Connection[Notification]
