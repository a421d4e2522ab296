"""The outbox: where messages go when no SMTP server is configured (the embedded default).

One `<UTC time>-<message id>.eml` file per message under `SHUTTER_DATA_DIR/outbox`, written
atomically (a temporary file in the same folder, then renamed): a reader never sees half a
message. The names sort by the time they were written."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from storage.mail import Envelope

SUFFIX = ".eml"


class OutboxTransport:
    """Writes each message into `folder` (created on first use)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, envelope: Envelope) -> None:
        """Side effect: one new file in the folder (rewritten, same name, if sent again)."""
        await asyncio.to_thread(write_message, self.folder, envelope)


def write_message(folder: Path, envelope: Envelope) -> Path:
    """Write the message atomically; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    existing = sorted(folder.glob(f"*-{envelope.message_id}{SUFFIX}"))
    path = existing[0] if existing else folder / f"{stamp}-{envelope.message_id}{SUFFIX}"
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(envelope.message)
            file.flush()
            os.fsync(file.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def list_messages(folder: Path) -> list[Path]:
    """The outbox's messages, oldest first (none when the folder does not exist)."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.glob(f"*{SUFFIX}") if not path.name.startswith("."))
