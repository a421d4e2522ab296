"""arq jobs of leaving: erasing accounts whose deletion took effect, and data exports."""

from __future__ import annotations

from typing import Any

from arq import Retry

from services import data_export, erasure
from workers.jobs import resources_of

ERASE_SLICE_SECONDS = 25
"""Work per run of erase_account; a bigger account continues in the next run (the job's time
limit stays short: arq hands a dead worker's jobs over only after the longest limit)."""


async def erase_account(ctx: dict[str, Any], user_id: int) -> bool:
    """Erase one account if its deletion took effect (else nothing). Resumable: a retry or a
    crashed run's successor continues from what is left; past ERASE_SLICE_SECONDS the job
    runs again at once to continue."""
    try:
        return await erasure.erase_account(
            resources_of(ctx).erasure, user_id, time_budget_seconds=ERASE_SLICE_SECONDS
        )
    except erasure.MoreToEraseError:
        raise Retry(defer=0) from None


async def erase_due_accounts(ctx: dict[str, Any]) -> int:
    """Cron: erase accounts whose deletion took effect and whose job was lost."""
    return await erasure.erase_due_accounts(resources_of(ctx).erasure)


async def export_data(ctx: dict[str, Any], user_id: int, export_id: int) -> str:
    """Write one data export (`user_id` is in the job id only, so that erasing the account
    forgets the job's kept result)."""
    return await data_export.run_export(resources_of(ctx).exports, export_id)


async def purge_expired_exports(ctx: dict[str, Any]) -> int:
    """Cron: delete the files of expired exports."""
    return await data_export.purge_expired_exports(resources_of(ctx).exports)
