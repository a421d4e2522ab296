"""arq jobs of follow requests: approving, batch by batch, the pending requests of an account
that turned public (services.follows.approve_requests_step). A step can run again without
harm: it approves whatever is still pending. Transient outages retry with backoff."""

from __future__ import annotations

from typing import Any

from services import follows
from workers.feed_jobs import retrying
from workers.jobs import resources_of


async def approve_follow_requests(
    ctx: dict[str, Any], owner_id: int, round_id: int, step: int
) -> int:
    """One batch (storage.jobs.APPROVE_FOLLOW_REQUESTS), then the next step's job when more may
    be pending; returns how many requests it approved."""
    return await retrying(
        ctx,
        f"approving follow requests of {owner_id} (step {step})",
        follows.approve_requests_step(resources_of(ctx).social, owner_id, round_id, step),
    )
