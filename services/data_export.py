"""Data export (docs/accounts.md, "Export"): requestDataExport queues a job that writes one zip
of the account's own data (profile, posts, comments, likes, follows and notifications as JSON,
plus the original media files) to the blob store, then mails its owner a signed link that
expires. One export at a time per account; the owner sees its progress (`viewer.dataExport`).

The zip is streamed: rows are read a page at a time and written into a zip file on disk, media
originals are downloaded one at a time into a temporary file and copied into the zip in chunks,
and the finished file is uploaded from disk. Peak memory does not grow with the account
(bench/data_export measures it).

Privacy: only the account's own rows, and of other accounts only what the owner may see (the
usernames in follows and notifications pass the visibility rule: a block either way or a
deactivated account leaves them out; a comment names its post by id only).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import tempfile
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson
from arq.connections import ArqRedis

from services import mail, notifications
from services.auth import Viewer
from services.errors import DomainError, UserErrorCode
from services.mail import MailConfig
from storage import jobs
from storage.blobs import BlobNotFoundError, BlobStore
from storage.pg import Db
from storage.pg import account_tokens as account_store
from storage.pg import data_exports as export_store
from storage.pg.data_exports import ExportRecord

log = logging.getLogger("shutter.data_export")

PAGE = 500
"""Rows read (and held) at a time."""
EXPORT_FILENAME = "shutter-export.zip"
PRIVATE_CACHE_CONTROL = "private, no-store"


@dataclass(frozen=True, slots=True)
class ExportDeps:
    db: Db
    queue: ArqRedis
    blobs: BlobStore
    mail: MailConfig
    link_ttl: timedelta
    scratch_dir: Path | None = None
    """Where the zip is built (None: the system's temporary folder)."""


@dataclass(frozen=True, slots=True)
class ExportState:
    """What the owner sees of their latest export."""

    status: str
    progress: int
    url: str | None
    """A fresh signed link while READY and unexpired (valid until `expires_at`)."""
    expires_at: datetime | None


def export_key(user_id: int) -> str:
    """A private key of its own for each export (random part: unguessable, never reused)."""
    return f"exports/{user_id}/{secrets.token_hex(16)}/{EXPORT_FILENAME}"


async def request_data_export(deps: ExportDeps, viewer: Viewer) -> ExportRecord:
    """Queue an export of the viewer's data. Raises DomainError ALREADY_EXISTS, with nothing
    changed, while one is queued or running. Side effects: a data_exports row, one job."""
    record = await export_store.insert_export(deps.db, viewer.user_id)
    if record is None:
        raise DomainError.single(
            UserErrorCode.ALREADY_EXISTS,
            "An export of your data is already under way; wait for its mail.",
        )
    await jobs.enqueue_export_data(deps.queue, viewer.user_id, record.id)
    return record


async def export_state(deps: ExportDeps, user_id: int) -> ExportState | None:
    """The owner's latest export (None: never asked). Its link is signed afresh, valid until
    the export expires; none once it has."""
    record = await export_store.fetch_latest_export(deps.db, user_id)
    if record is None:
        return None
    url = None
    status = record.status
    if status == "READY" and record.expires_at is not None and record.blob_key is not None:
        remaining = record.expires_at - datetime.now(UTC)
        if remaining > timedelta(seconds=1):
            url = await deps.blobs.presign_get(
                record.blob_key, expires_in=remaining, filename=EXPORT_FILENAME
            )
        else:
            status = "EXPIRED"
    return ExportState(
        status=status, progress=record.progress, url=url, expires_at=record.expires_at
    )


async def run_export(deps: ExportDeps, export_id: int) -> str:
    """The job: write the zip, store it, mark the export READY and mail the link. Returns the
    final status. Running it again after READY does nothing; a crash mid-way restarts it from
    the beginning (a fresh key: the partial upload of a crashed run is never linked).

    Side effects: a temporary file (removed), one blob, the export row, a DATA_EXPORT_READY
    notification (pushed live), one queued mail."""
    record = await export_store.fetch_export(deps.db, export_id)
    if record is None or not await export_store.mark_running(deps.db, export_id):
        return "skipped"
    try:
        with tempfile.TemporaryDirectory(dir=deps.scratch_dir) as folder:
            path = Path(folder) / EXPORT_FILENAME
            await _write_zip(deps, record.user_id, export_id, path)
            key = export_key(record.user_id)
            await deps.blobs.put_file(
                key, path, content_type="application/zip", cache_control=PRIVATE_CACHE_CONTROL
            )
            size = path.stat().st_size
    except Exception:
        log.exception("export %s failed", export_id)
        await export_store.mark_failed(deps.db, export_id)
        raise
    expires_at = datetime.now(UTC) + deps.link_ttl
    await export_store.mark_ready(
        deps.db, export_id, blob_key=key, byte_size=size, expires_at=expires_at
    )
    deliveries = await notifications.record_data_export_ready(
        deps.db, user_id=record.user_id, export_id=export_id
    )
    await notifications.announce(deps.queue, deliveries)
    await _mail_link(deps, record.user_id, key)
    return "READY"


async def purge_expired_exports(deps: ExportDeps) -> int:
    """Cron: delete the files of expired exports (their links stopped working already).
    Returns how many went."""
    purged = 0
    while expired := await export_store.fetch_expired_exports(deps.db, limit=100):
        await deps.blobs.delete([key for _, key in expired])
        await export_store.mark_expired(deps.db, [export_id for export_id, _ in expired])
        purged += len(expired)
    return purged


async def _mail_link(deps: ExportDeps, user_id: int, key: str) -> None:
    account = await account_store.fetch_account_email(deps.db, user_id)
    if account is None:
        return
    link = await deps.blobs.presign_get(key, expires_in=deps.link_ttl, filename=EXPORT_FILENAME)
    message = mail.compose(
        deps.mail,
        template="data_export_ready",
        to=account.email,
        subject="Your Shutter data is ready to download",
        username=account.username,
        link=link,
        valid_for=mail.describe(deps.link_ttl),
    )
    await mail.queue_message(deps.queue, message)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_INDENT_2)


Pager = Callable[[int], Awaitable[list[dict[str, Any]]]]


async def _write_zip(deps: ExportDeps, user_id: int, export_id: int, path: Path) -> None:
    total = max(await export_store.count_rows(deps.db, user_id), 1)
    written = 0
    reported = -1

    async def advance(rows: int) -> None:
        nonlocal written, reported
        written += rows
        progress = min(99, written * 100 // total)
        if progress >= reported + 5:
            reported = progress
            await export_store.set_progress(deps.db, export_id, progress)

    archive = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
    try:
        profile = await export_store.fetch_profile(deps.db, user_id)
        await asyncio.to_thread(archive.writestr, "profile.json", _dumps(profile))
        db = deps.db
        sections: list[tuple[str, Pager, str]] = [
            (
                "posts.json",
                lambda after: export_store.fetch_posts_page(db, user_id, after=after, limit=PAGE),
                "id",
            ),
            (
                "comments.json",
                lambda after: export_store.fetch_comments_page(
                    db, user_id, after=after, limit=PAGE
                ),
                "id",
            ),
            (
                "likes.json",
                lambda after: export_store.fetch_likes_page(db, user_id, after=after, limit=PAGE),
                "post_id",
            ),
            (
                "following.json",
                lambda after: export_store.fetch_follows_page(
                    db, user_id, following=True, after=after, limit=PAGE
                ),
                "id",
            ),
            (
                "followers.json",
                lambda after: export_store.fetch_follows_page(
                    db, user_id, following=False, after=after, limit=PAGE
                ),
                "id",
            ),
            (
                "notifications.json",
                lambda after: export_store.fetch_notifications_page(
                    db, user_id, after=after, limit=PAGE
                ),
                "id",
            ),
        ]
        for name, pager, cursor in sections:
            await _write_json_array(archive, name, pager, cursor, advance)
        await _write_originals(deps, archive, user_id, advance)
    finally:
        await asyncio.to_thread(archive.close)


async def _write_json_array(
    archive: zipfile.ZipFile,
    name: str,
    pager: Pager,
    cursor: str,
    advance: Callable[[int], Awaitable[None]],
) -> None:
    """One JSON array, written a page at a time into the zip entry (never whole in memory)."""
    stream: IO[bytes] = await asyncio.to_thread(archive.open, name, "w", force_zip64=True)
    try:
        await asyncio.to_thread(stream.write, b"[")
        after, first = 0, True
        while rows := await pager(after):
            chunk = b",".join(_dumps(row) for row in rows)
            await asyncio.to_thread(stream.write, (b"" if first else b",") + chunk)
            first = False
            after = rows[-1][cursor]
            await advance(len(rows))
        await asyncio.to_thread(stream.write, b"]")
    finally:
        await asyncio.to_thread(stream.close)


async def _write_originals(
    deps: ExportDeps,
    archive: zipfile.ZipFile,
    user_id: int,
    advance: Callable[[int], Awaitable[None]],
) -> None:
    """Each kept original as media/<media id>-<file name>, downloaded to disk one at a time and
    copied into the zip in chunks (zipfile.write)."""
    after = 0
    with tempfile.TemporaryDirectory(dir=deps.scratch_dir) as folder:
        local = Path(folder) / "original"
        while page := await export_store.fetch_original_media_page(
            deps.db, user_id, after=after, limit=PAGE
        ):
            for media_id, key, filename in page:
                try:
                    await deps.blobs.download(key, local)
                except BlobNotFoundError:
                    continue  # deleted meanwhile
                safe_name = filename.replace("/", "_").replace("\\", "_")
                await asyncio.to_thread(
                    archive.write, local, f"media/{media_id}-{safe_name}", zipfile.ZIP_STORED
                )
                local.unlink()
                await advance(1)
            after = page[-1][0]
