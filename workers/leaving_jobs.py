"""arq jobs of leaving: erasing accounts whose deletion took effect, and data exports."""

from __future__ import annotations

from typing import Any

from services import data_export, erasure
from workers.jobs import resources_of


async def erase_account(ctx: dict[str, Any], user_id: int) -> bool:
    """Erase one account if its deletion took effect (else nothing). Resumable: a retry or a
    crashed run's successor continues from what is left."""
    return await erasure.erase_account(resources_of(ctx).erasure, user_id)


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
