"""Inputs, payloads and types of leaving (deactivation, deletion) and data export."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from schema.errors import MutationInput, Payload
from services.data_export import ExportState


@strawberry.input
class DeactivateAccountInput(MutationInput):
    password: str


@strawberry.input
class DeleteAccountInput(MutationInput):
    password: str


@strawberry.input
class RequestDataExportInput(MutationInput):
    pass


@strawberry.type
class DeactivateAccountPayload(Payload):
    ok: bool = False


@strawberry.type
class DeleteAccountPayload(Payload):
    ok: bool = False
    erase_after: datetime | None = strawberry.field(
        default=None,
        description="When the account will be erased unless its owner logs in before then.",
    )


@strawberry.enum(description="Where a data export stands.")
class DataExportStatus(enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    READY = "READY"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


@strawberry.type(description="The viewer's latest export of their data.")
class DataExport:
    status: DataExportStatus
    progress: int = strawberry.field(description="Percent done (100 once READY).")
    url: str | None = strawberry.field(
        description="A signed link to the zip while READY; it stops working at `expiresAt`."
    )
    expires_at: datetime | None

    @classmethod
    def from_state(cls, state: ExportState) -> DataExport:
        return cls(
            status=DataExportStatus(state.status),
            progress=state.progress,
            url=state.url,
            expires_at=state.expires_at,
        )


@strawberry.type
class RequestDataExportPayload(Payload):
    data_export: DataExport | None = None
