"""`Session`: one of the viewer's signed-in devices (`viewer.sessions`)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from services.records import SessionListing


@strawberry.type(description="One of the viewer's signed-in devices (a refresh token family).")
class Session:
    id: strawberry.ID = strawberry.field(description="What endSession takes.")
    device: str | None = strawberry.field(
        description="Browser, system and device named from the User-Agent at sign-in, e.g. "
        "`Chrome 124 on Windows 10`; null when the client sent none."
    )
    approximate_address: str | None = strawberry.field(
        description="The network the session was last used from: the client address cut to "
        "its /24 (IPv4) or /48 (IPv6), e.g. `203.0.113.0/24`; the full address is not kept."
    )
    created_at: datetime = strawberry.field(description="When the session signed in.")
    last_used_at: datetime = strawberry.field(
        description="When its tokens were last refreshed (or it signed in)."
    )
    current: bool = strawberry.field(description="Whether this request comes from it.")

    @classmethod
    def from_listing(cls, listing: SessionListing, current_id: object) -> Session:
        address = listing.approximate_address
        return cls(
            id=strawberry.ID(str(listing.id)),
            device=listing.device,
            approximate_address=str(address) if address is not None else None,
            created_at=listing.created_at,
            last_used_at=listing.last_used_at,
            current=listing.id == current_id,
        )
