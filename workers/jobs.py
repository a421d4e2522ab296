"""arq jobs. Each is a few lines: take the process Resources from the worker context, call a
service. Every job can run twice without harm."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from resources import Resources
from services import accounts

log = logging.getLogger("shutter.jobs")

SESSION_RETENTION = timedelta(days=7)


def resources_of(ctx: dict[str, Any]) -> Resources:
    resources: Resources = ctx["resources"]
    return resources


async def purge_ended_sessions(ctx: dict[str, Any]) -> int:
    """Cron: delete sessions that ended over a week ago. Side effect: DELETE on sessions."""
    deleted = await accounts.purge_ended_sessions(resources_of(ctx).db, retention=SESSION_RETENTION)
    log.info("purged %d ended sessions", deleted)
    return deleted
