"""Blob storage for media: one interface (`BlobStore`), two backends (`local`, `s3`).

Key layout (every key is a relative, slash-separated path):

- ``uploads/<media id>/original``: the bytes a client PUT through a presigned URL. Private: never
  served publicly. completeUpload moves them away at once (`BlobStore.move`) to
- ``uploads/<media id>/sealed-<random>``: the original as completeUpload sealed and checked it, a
  key no presigned URL targets. Private: read only by the API (size and type checks) and the
  media worker (once per run).
- ``exports/<user id>/<random>/shutter-export.zip``: a data export. Private: downloaded only
  through a signed link (`BlobStore.presign_get`) that expires.
- ``media/<media id>/<file token>/<variant>.jpg`` and ``media/<media id>/<file token>/video.mp4``
  (the token is random: a draft's files cannot be found by counting ids): published derivatives,
  public and immutable (served by the CDN, or by the app's ``/media`` route for the local backend).

Only keys under ``media/`` may be served publicly: `BlobStore.public_url` refuses any other key.

`open_blob_store(settings, signing_key=...)` opens the configured backend. Backends live in
`storage.blobs.local` and `storage.blobs.s3` (imported lazily: the local one needs no aioboto3).

Errors: `BlobStoreUnavailableError` is transient (network, timeout, throttling, 5xx, full disk):
a job may retry it with backoff. `BlobNotFoundError` means the object is absent. Both, and
`InvalidBlobKeyError` (a key that is not a safe relative path), are `BlobStoreError`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

if TYPE_CHECKING:
    from settings import Settings
    from storage.blobs.local import LocalBlobStore

UPLOADS_PREFIX = "uploads/"
"""Private originals, written by clients through presigned PUT URLs."""

PUBLIC_PREFIX = "media/"
"""Published objects: the only keys that may ever be served publicly."""

IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"
"""Cache-Control of published objects (their keys change whenever their content would)."""

MAX_KEY_BYTES = 1024
"""S3's limit on key length (UTF-8 bytes); the local backend keeps the same rule."""


class BlobStoreError(Exception):
    """Base class of the errors blob stores raise."""


class BlobStoreUnavailableError(BlobStoreError):
    """The store could not be reached or failed transiently; retrying later may succeed."""


class BlobNotFoundError(BlobStoreError, LookupError):
    """The object does not exist."""


class InvalidBlobKeyError(BlobStoreError, ValueError):
    """The key is not a safe relative path (or not a public key where one is required)."""


@dataclass(frozen=True)
class PresignedPut:
    """Where and how a client uploads one object: PUT the exact bytes to `url` with `headers`."""

    url: str
    headers: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class BlobStat:
    size: int
    content_type: str | None
    """The type recorded when the object was written (declared, not sniffed); None if unknown."""


class BlobStore(Protocol):
    """Object storage for uploads and published media. Every method validates its keys
    (`InvalidBlobKeyError`) and raises `BlobStoreUnavailableError` on transient failures."""

    async def presign_put(
        self, key: str, *, content_type: str, byte_size: int, expires_in: timedelta
    ) -> PresignedPut:
        """A URL valid for `expires_in` that accepts one PUT of exactly `byte_size` bytes with
        Content-Type `content_type`; anything else is refused. No side effects."""
        ...

    async def presign_get(self, key: str, *, expires_in: timedelta, filename: str) -> str:
        """A URL valid for `expires_in` that downloads the private object `key` (saved as
        `filename`); refused once expired. For private files handed to their owner (data
        exports). No side effects."""
        ...

    async def stat(self, key: str) -> BlobStat | None:
        """Size and recorded content type of the object, or None when it is absent."""
        ...

    async def read_head(self, key: str, length: int) -> bytes:
        """The first `length` bytes (fewer if the object is shorter). Raises `BlobNotFoundError`."""
        ...

    async def download(self, key: str, destination: Path) -> None:
        """Stream the object into the file `destination` (never whole in memory). The file
        appears complete or not at all (written beside it, then renamed); it is replaced if it
        exists. Raises `BlobNotFoundError`."""
        ...

    async def put(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        """Store `data` under `key`, replacing any previous object (so reruns are idempotent)."""
        ...

    async def put_file(
        self, key: str, source: Path, *, content_type: str, cache_control: str
    ) -> None:
        """Store the content of the local file `source` under `key`, streamed (never whole in
        memory), replacing any previous object."""
        ...

    async def move(self, source_key: str, destination_key: str) -> None:
        """Move an object to another key, replacing the destination and keeping its content
        type; afterwards nothing is left at `source_key` (a write to `source_key` that lands
        after the move creates a new object and leaves the moved one unchanged). Raises
        `BlobNotFoundError` if the source is absent."""
        ...

    async def copy(
        self, source_key: str, destination_key: str, *, content_type: str, cache_control: str
    ) -> None:
        """Copy an object (server-side where possible), replacing the destination and setting
        its content type and cache control. Raises `BlobNotFoundError` if the source is absent."""
        ...

    async def delete(self, keys: Sequence[str]) -> None:
        """Delete the objects; keys that do not exist are ignored. All keys are validated
        before anything is deleted."""
        ...

    def public_url(self, key: str) -> str:
        """The URL clients fetch a published object from. Raises `InvalidBlobKeyError` for keys
        outside ``media/``. No I/O."""
        ...


_FORBIDDEN_CHARACTER = re.compile(r"[\x00-\x1f\x7f\\]")
"""Control characters and the backslash."""


def validate_key(key: str) -> str:
    """Return `key` if it is a safe relative key, else raise `InvalidBlobKeyError`.

    Safe: at most `MAX_KEY_BYTES` UTF-8 bytes, no leading slash, no backslash or control
    character, and every slash-separated segment non-empty and not starting with a dot (which
    excludes ``.`` and ``..`` and keeps names like ``.tmp`` free for the backends' own use).
    """
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidBlobKeyError(f"blob key is not valid UTF-8: {key!r}") from None
    if not encoded or len(encoded) > MAX_KEY_BYTES:
        raise InvalidBlobKeyError(f"blob key must be 1 to {MAX_KEY_BYTES} bytes long")
    if _FORBIDDEN_CHARACTER.search(key):
        raise InvalidBlobKeyError(f"blob key contains a forbidden character: {key!r}")
    for segment in key.split("/"):
        if not segment or segment.startswith("."):
            raise InvalidBlobKeyError(f"blob key is not a safe relative path: {key!r}")
    return key


def validate_public_key(key: str) -> str:
    """Return `key` if it is a safe key under ``media/``, else raise `InvalidBlobKeyError`."""
    validate_key(key)
    if not key.startswith(PUBLIC_PREFIX):
        raise InvalidBlobKeyError(f"only keys under {PUBLIC_PREFIX!r} are public: {key!r}")
    return key


_PLAIN_PUBLIC_KEY = re.compile(r"media(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)+")
"""A public key as the service writes them (`media/<id>/<token>/<name>.<ext>`): URL-unreserved
characters only, and no segment empty or starting with a dot."""


def public_key_path(key: str) -> str:
    """`key` checked by validate_public_key and quoted for a URL path (raises
    `InvalidBlobKeyError` as it does). The service's own keys need neither and are recognised
    by one regular expression: a feed page builds a URL per post."""
    if len(key) <= MAX_KEY_BYTES and _PLAIN_PUBLIC_KEY.fullmatch(key):
        return key
    return quote(validate_public_key(key), safe="/")


def validate_presign_request(byte_size: int, expires_in: timedelta) -> None:
    """Refuse a presign request with a negative size or a non-positive lifetime (ValueError)."""
    if byte_size < 0:
        raise ValueError("byte_size must not be negative")
    if expires_in <= timedelta(0):
        raise ValueError("expires_in must be positive")


def local_blob_store(settings: Settings, *, signing_key: bytes) -> LocalBlobStore:
    """The local backend over ``settings.media_dir``. Stateless: the app's upload routes may
    build their own instance; same settings and `signing_key` (the application secret) give
    the same URLs and signatures. The upload-signing key is derived from `signing_key`."""
    from storage.blobs.local import LocalBlobStore
    from storage.blobs.signing import derive_signing_key

    return LocalBlobStore(
        settings.media_dir,
        signing_key=derive_signing_key(signing_key),
        public_base_url=settings.public_base_url,
    )


@contextlib.asynccontextmanager
async def open_blob_store(settings: Settings, *, signing_key: bytes) -> AsyncIterator[BlobStore]:
    """The backend ``settings.storage_backend`` selects, open for the block.

    ``local``: files under ``settings.media_dir`` (see `local_blob_store`); opening it removes
    the temp files of processes that stopped mid-write. ``s3``: one
    long-lived client to ``settings.s3_bucket`` (credentials from the environment, AWS
    profile or instance role), public URLs on ``settings.media_base_url``; closed on exit.
    """
    if settings.storage_backend == "local":
        local = local_blob_store(settings, signing_key=signing_key)
        await asyncio.to_thread(local.remove_abandoned_temp_files)
        yield local
        return
    if not settings.s3_bucket:
        raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
    import aioboto3

    from storage.blobs.s3 import S3BlobStore

    async with S3BlobStore(
        aioboto3.Session(),
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        public_base_url=settings.media_base_url,
    ) as store:
        yield store
