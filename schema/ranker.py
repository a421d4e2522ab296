"""GraphQL types of the learned ranker's client side: impression reports (#22)."""

from __future__ import annotations

import strawberry

from schema.errors import MutationInput, Payload


@strawberry.input(description="One post the client had on screen.")
class ImpressionInput:
    post_id: strawberry.ID
    position: int = strawberry.field(description="The post's index in the feed, from 0.")
    visible_ms: int = strawberry.field(description="How long it was on screen, milliseconds.")


@strawberry.input
class RecordImpressionsInput(MutationInput):
    impressions: list[ImpressionInput] = strawberry.field(description="1 to 100 impressions.")


@strawberry.type
class RecordImpressionsPayload(Payload):
    recorded: int | None = strawberry.field(
        default=None, description="How many were new (a repeated report records nothing)."
    )
