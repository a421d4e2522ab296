"""The Relay `Node` interface."""

from __future__ import annotations

import strawberry

from schema.global_ids import encode_global_id


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    record_id: strawberry.Private[int]
    """The object's database id, which its global id encodes."""

    @strawberry.field
    def id(self) -> strawberry.ID:
        """Encoded only when a query asks for it (a feed page holds 60 objects, most of
        whose ids nobody asks for). Every Node type is named after its class."""
        return encode_global_id(type(self).__name__, self.record_id)
