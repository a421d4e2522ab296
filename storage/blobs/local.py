"""The local blob backend: objects are files under one folder, uploads arrive through signed
PUT URLs served by the app itself (`web/blob_routes.py`).

Layout under `root`:

- ``<key>``: the object's bytes.
- ``.meta/<key>``: JSON with its content type, cache control and ETag (MD5 of the bytes, as S3
  reports for single-part uploads). Absent for files put there by other means.
- ``.tmp/<process>/``: files being written, in a folder per process (storage.scratch). Every
  write goes to a temp file there, is fsynced, then `os.replace`d over the target, so readers
  see the old object or the new one, never a part. What a killed process left there is removed
  by the next process that opens the store (`remove_abandoned_temp_files`).

Keys cannot name ``.meta`` or ``.tmp`` (no key segment may start with a dot), and every path is
resolved and checked to stay inside `root` (symlinks included). Data and metadata are two
renames: a crash between them, or two concurrent writers of one key, can leave metadata of the
other version; writers of one key always write the same type, so only the ETag may be stale.

Blocking file operations run in worker threads (`asyncio.to_thread`); `OSError`s other than
"not found" surface as `BlobStoreUnavailableError` (full disk, I/O error).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import stat as stat_module
import tempfile
import time
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar
from urllib.parse import quote, urlencode

from storage.blobs import (
    IMMUTABLE_CACHE_CONTROL,
    BlobNotFoundError,
    BlobStat,
    BlobStoreError,
    BlobStoreUnavailableError,
    InvalidBlobKeyError,
    PresignedPut,
    public_key_path,
    validate_key,
    validate_presign_request,
    validate_public_key,
)
from storage.blobs.signing import (
    MALFORMED,
    UploadGrant,
    grant_from_query,
    sign_upload,
    upload_query,
    verify_upload,
)
from storage.scratch import process_tag, remove_abandoned

_P = ParamSpec("_P")
_T = TypeVar("_T")

DOWNLOAD_METHOD = "GET"
"""The method signed into download URLs (an upload URL's signature never grants a download)."""
COPY_CHUNK_BYTES = 1024 * 1024
UPLOAD_WRITE_BUFFER_BYTES = 1024 * 1024
"""Received upload chunks are gathered up to this size before each write (fewer thread hops)."""

_PUBLIC_CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".m3u8": "application/vnd.apple.mpegurl",
}


class UploadRefusedError(BlobStoreError):
    """A PUT to a signed upload URL was refused; nothing was stored. `reason` is for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UploadSignatureError(UploadRefusedError):
    """The URL is malformed, tampered with, or expired."""


class UploadTooLargeError(UploadRefusedError):
    """The body is longer than the signed size."""


class UploadIncompleteError(UploadRefusedError):
    """The body ended before the signed size was reached."""


@dataclass(frozen=True)
class PublicFile:
    """A published object ready to be served: its file, and the headers to serve it with."""

    path: Path
    stat: os.stat_result
    content_type: str
    cache_control: str
    etag: str | None
    """The stored ETag (quoted), or None when unknown (serve one derived from `stat`)."""


def public_content_type(key: str) -> str:
    """The Content-Type a public object is served with, from its extension only (never the type
    a client declared, so an upload can never be served as HTML or script)."""
    return _PUBLIC_CONTENT_TYPES.get(Path(key).suffix.lower(), "application/octet-stream")


def _etag(md5: Any) -> str:
    return f'"{md5.hexdigest()}"'


def _is_absent(error: OSError) -> bool:
    return isinstance(error, FileNotFoundError | NotADirectoryError)


class LocalBlobStore:
    """`BlobStore` over files under `root` (created as needed). `signing_key` signs upload URLs;
    `public_base_url` is the app's external URL, under which it serves ``/uploads`` (PUT) and
    ``/media`` (GET). `clock` returns unix seconds (tests shift it)."""

    def __init__(
        self,
        root: Path,
        *,
        signing_key: bytes,
        public_base_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not signing_key:
            raise ValueError("signing_key must not be empty")
        self._root = root.resolve()
        self._temp_folder = self._root / ".tmp" / process_tag()
        self._signing_key = signing_key
        self._base_url = public_base_url.rstrip("/")
        self._clock = clock

    # -- BlobStore ---------------------------------------------------------------------------

    async def presign_put(
        self, key: str, *, content_type: str, byte_size: int, expires_in: timedelta
    ) -> PresignedPut:
        """No side effects: the URL carries its own signed grant."""
        validate_key(key)
        validate_presign_request(byte_size, expires_in)
        expires = int(self._clock() + expires_in.total_seconds())
        grant = UploadGrant(key=key, content_type=content_type, size=byte_size, expires=expires)
        query = urlencode(upload_query(self._signing_key, grant))
        return PresignedPut(
            url=f"{self._base_url}/uploads/{quote(key, safe='/')}?{query}",
            headers={"Content-Type": content_type},
            expires_at=datetime.fromtimestamp(expires, UTC),
        )

    async def presign_get(self, key: str, *, expires_in: timedelta, filename: str) -> str:
        """No side effects: the URL carries its own signed grant (method GET, size 0, the
        download's file name as its type), served by the ``/downloads`` route."""
        validate_key(key)
        validate_presign_request(0, expires_in)
        expires = int(self._clock() + expires_in.total_seconds())
        grant = UploadGrant(key=key, content_type=filename, size=0, expires=expires)
        query = urlencode(
            {
                **upload_query(self._signing_key, grant),
                "sig": sign_upload(self._signing_key, grant, method=DOWNLOAD_METHOD),
            }
        )
        return f"{self._base_url}/downloads/{quote(key, safe='/')}?{query}"

    def verify_download(self, key: str, query: Mapping[str, str]) -> tuple[Path, str]:
        """The file of a signed download URL and the name to save it as; raises
        `UploadSignatureError` when the URL is malformed, tampered with or expired, and
        `BlobNotFoundError` when the object is gone."""
        reason = verify_upload(
            self._signing_key, key, query, now=self._clock(), method=DOWNLOAD_METHOD
        )
        grant = grant_from_query(key, query)
        if reason is not None or grant is None:
            raise UploadSignatureError(reason or MALFORMED)
        path = self._object_path(validate_key(key))
        if not path.is_file():
            raise BlobNotFoundError(key)
        return path, grant.content_type

    async def stat(self, key: str) -> BlobStat | None:
        return await self._io(self._stat_sync, key)

    async def read_head(self, key: str, length: int) -> bytes:
        return await self._io(self._read_head_sync, key, max(length, 0))

    async def download(self, key: str, destination: Path) -> None:
        """Side effects: writes a temp file beside `destination`, then renames it over it."""
        await self._io(self._download_sync, key, destination)

    async def put(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        """Side effects: replaces the file and its metadata."""
        await self._io(self._put_sync, key, data, content_type, cache_control)

    async def put_file(
        self, key: str, source: Path, *, content_type: str, cache_control: str
    ) -> None:
        """Side effects: replaces the file and its metadata (copied in chunks)."""
        await self._io(self._put_file_sync, key, source, content_type, cache_control)

    async def copy(
        self, source_key: str, destination_key: str, *, content_type: str, cache_control: str
    ) -> None:
        """Side effects: replaces the destination file and its metadata."""
        await self._io(self._copy_sync, source_key, destination_key, content_type, cache_control)

    async def move(self, source_key: str, destination_key: str) -> None:
        """Side effects: renames the file (atomic: a PUT to `source_key` that commits at the same
        moment lands either before the move, and is moved, or after it, as a new file) and
        moves its metadata."""
        await self._io(self._move_sync, source_key, destination_key)

    async def delete(self, keys: Sequence[str]) -> None:
        """Side effects: removes the files and their metadata (empty folders are left)."""
        for key in keys:
            validate_key(key)
        await self._io(self._delete_sync, list(keys))

    def public_url(self, key: str) -> str:
        return f"{self._base_url}/{public_key_path(key)}"

    # -- for the HTTP routes -----------------------------------------------------------------

    def verify_upload(self, key: str, query: Mapping[str, str]) -> UploadGrant:
        """The grant of a signed upload URL (path `key`, query `query`); raises
        `UploadSignatureError` when it is malformed, tampered with or expired."""
        reason = verify_upload(self._signing_key, key, query, now=self._clock())
        grant = grant_from_query(key, query)
        if reason is not None or grant is None:
            raise UploadSignatureError(reason or MALFORMED)
        return grant

    async def receive_upload(self, grant: UploadGrant, chunks: AsyncIterable[bytes]) -> str:
        """Stream `chunks` into the object `grant.key` and return its ETag.

        The body goes to a temp file, counted as it arrives: `UploadTooLargeError` as soon as it
        exceeds `grant.size`, `UploadIncompleteError` if it ends short; in both cases (and on any
        error or cancellation) the temp file is removed and the existing object is untouched. At
        most `UPLOAD_WRITE_BUFFER_BYTES` of the body are held in memory.
        """
        path = await self._io(self._object_path, grant.key)
        temp = await self._io(self._open_temp)
        md5 = hashlib.md5(usedforsecurity=False)
        received = 0
        pending = bytearray()
        try:
            async for chunk in chunks:
                received += len(chunk)
                if received > grant.size:
                    raise UploadTooLargeError(f"body exceeds the signed size of {grant.size} bytes")
                md5.update(chunk)
                pending += chunk
                if len(pending) >= UPLOAD_WRITE_BUFFER_BYTES:
                    await self._io(temp.write, pending)
                    pending = bytearray()
            if received < grant.size:
                raise UploadIncompleteError(
                    f"body has {received} bytes, the signed size is {grant.size}"
                )
            etag = _etag(md5)
            await self._io(temp.write, pending)
            await self._io(
                self._commit_temp, temp, path, grant.key, {"content_type": grant.content_type}, etag
            )
        except BaseException:
            # Synchronous on purpose: this also runs on cancellation (client gone), where
            # awaiting a thread could be interrupted; close and unlink are quick.
            _discard_temp(temp)
            raise
        return etag

    async def open_public(self, key: str) -> PublicFile | None:
        """The published object at `key`, or None when absent, not under ``media/``, or
        resolving outside the root. No side effects."""
        try:
            validate_public_key(key)
            return await self._io(self._open_public_sync, key)
        except InvalidBlobKeyError:
            return None

    # -- blocking parts (run in threads) -----------------------------------------------------

    async def _io(self, func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await asyncio.to_thread(func, *args, **kwargs)
        except OSError as error:
            raise BlobStoreUnavailableError(f"local blob store I/O failed: {error}") from error

    def _inside_root(self, relative: str) -> Path:
        path = (self._root / relative).resolve()
        if not path.is_relative_to(self._root) or path == self._root:
            raise InvalidBlobKeyError(f"blob key escapes the storage folder: {relative!r}")
        return path

    def _object_path(self, key: str) -> Path:
        return self._inside_root(validate_key(key))

    def _meta_path(self, key: str) -> Path:
        return self._inside_root(f".meta/{validate_key(key)}")

    def _read_meta(self, key: str) -> dict[str, str]:
        try:
            loaded = json.loads(self._meta_path(key).read_bytes())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return {}
        if not isinstance(loaded, dict):
            return {}
        return {name: value for name, value in loaded.items() if isinstance(value, str)}

    def remove_abandoned_temp_files(self) -> list[Path]:
        """Side effects: deletes the temp files of processes that stopped mid-write (a crash)
        and returns them; running processes' files stay."""
        return remove_abandoned(self._root / ".tmp")

    def _open_temp(self) -> _TempFile:
        folder = self._temp_folder
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder)
        os.fchmod(fd, 0o644)
        return _TempFile(os.fdopen(fd, "wb"), Path(name))

    def _commit_temp(
        self, temp: _TempFile, path: Path, key: str, meta: dict[str, str], etag: str
    ) -> None:
        temp.file.flush()
        os.fsync(temp.file.fileno())
        temp.file.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.path.replace(path)
        self._write_meta(key, {**meta, "etag": etag})

    def _write_meta(self, key: str, meta: dict[str, str]) -> None:
        path = self._meta_path(key)
        temp = self._open_temp()
        try:
            temp.file.write(json.dumps(meta).encode())
            temp.file.close()
            path.parent.mkdir(parents=True, exist_ok=True)
            temp.path.replace(path)
        except BaseException:
            _discard_temp(temp)
            raise

    def _stat_sync(self, key: str) -> BlobStat | None:
        try:
            result = self._object_path(key).stat()
        except OSError as error:
            if _is_absent(error):
                return None
            raise
        if not stat_module.S_ISREG(result.st_mode):
            return None
        return BlobStat(size=result.st_size, content_type=self._read_meta(key).get("content_type"))

    def _open_source(self, key: str) -> IO[bytes]:
        path = self._object_path(key)
        try:
            source = path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BlobNotFoundError(key) from None
        if not stat_module.S_ISREG(os.fstat(source.fileno()).st_mode):
            source.close()
            raise BlobNotFoundError(key)
        return source

    def _read_head_sync(self, key: str, length: int) -> bytes:
        with self._open_source(key) as source:
            return source.read(length)

    def _download_sync(self, key: str, destination: Path) -> None:
        with self._open_source(key) as source:
            fd, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
            temp = Path(name)
            try:
                with os.fdopen(fd, "wb") as target:
                    while chunk := source.read(COPY_CHUNK_BYTES):
                        target.write(chunk)
                temp.replace(destination)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise

    def _put_sync(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        path = self._object_path(key)
        temp = self._open_temp()
        try:
            temp.file.write(data)
            meta = {"content_type": content_type, "cache_control": cache_control}
            etag = _etag(hashlib.md5(data, usedforsecurity=False))
            self._commit_temp(temp, path, key, meta, etag)
        except BaseException:
            _discard_temp(temp)
            raise

    def _copy_sync(
        self, source_key: str, destination_key: str, content_type: str, cache_control: str
    ) -> None:
        with self._open_source(source_key) as source:
            self._store_stream_sync(source, destination_key, content_type, cache_control)

    def _put_file_sync(
        self, key: str, source_path: Path, content_type: str, cache_control: str
    ) -> None:
        with source_path.open("rb") as source:
            self._store_stream_sync(source, key, content_type, cache_control)

    def _store_stream_sync(
        self, source: IO[bytes], key: str, content_type: str, cache_control: str
    ) -> None:
        """Copy `source` to the object `key` through a temp file, in chunks."""
        path = self._object_path(key)
        temp = self._open_temp()
        try:
            md5 = hashlib.md5(usedforsecurity=False)
            while chunk := source.read(COPY_CHUNK_BYTES):
                md5.update(chunk)
                temp.file.write(chunk)
            meta = {"content_type": content_type, "cache_control": cache_control}
            self._commit_temp(temp, path, key, meta, _etag(md5))
        except BaseException:
            _discard_temp(temp)
            raise

    def _move_sync(self, source_key: str, destination_key: str) -> None:
        source = self._object_path(source_key)
        destination = self._object_path(destination_key)
        meta = self._read_meta(source_key)
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            if not stat_module.S_ISREG(source.stat().st_mode):
                raise BlobNotFoundError(source_key)
            source.replace(destination)
        except (FileNotFoundError, NotADirectoryError):
            raise BlobNotFoundError(source_key) from None
        self._write_meta(destination_key, meta)
        self._meta_path(source_key).unlink(missing_ok=True)

    def _delete_sync(self, keys: list[str]) -> None:
        for key in keys:
            for path in (self._object_path(key), self._meta_path(key)):
                try:
                    path.unlink()
                except OSError as error:
                    if not _is_absent(error):
                        raise

    def _open_public_sync(self, key: str) -> PublicFile | None:
        path = self._object_path(key)
        try:
            result = path.stat()
        except OSError as error:
            if _is_absent(error):
                return None
            raise
        if not stat_module.S_ISREG(result.st_mode):
            return None
        meta = self._read_meta(key)
        return PublicFile(
            path=path,
            stat=result,
            content_type=public_content_type(key),
            cache_control=meta.get("cache_control", IMMUTABLE_CACHE_CONTROL),
            etag=meta.get("etag"),
        )


@dataclass(frozen=True)
class _TempFile:
    file: IO[bytes]
    path: Path

    def write(self, data: bytes | bytearray) -> None:
        self.file.write(data)


def _discard_temp(temp: _TempFile) -> None:
    with contextlib.suppress(OSError):
        temp.file.close()
    temp.path.unlink(missing_ok=True)
