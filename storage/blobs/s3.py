"""The S3 blob backend (AWS S3 or any S3-compatible store) through aioboto3.

One long-lived client per store: `async with S3BlobStore(...) as store` (or `open()`/`close()`).
Presigned PUT URLs sign Content-Type and Content-Length, so S3 refuses a body of another type or
length; published objects are fetched from `public_base_url` (the CDN, ``MEDIA_BASE_URL``) when
set, else straight from the bucket (which then needs a policy allowing anonymous reads of
``media/*`` and nothing else).

botocore retries transient failures itself (standard mode); what still fails (connection
errors, timeouts, throttling, 5xx, truncated or corrupted bodies) surfaces as
`BlobStoreUnavailableError`. Other service errors (access denied, missing bucket) are
configuration problems and surface as `BlobStoreError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import aioboto3
import aiohttp
import botocore.config  # type: ignore[import-untyped]
import botocore.exceptions  # type: ignore[import-untyped]

from storage.blobs import (
    BlobNotFoundError,
    BlobStat,
    BlobStoreError,
    BlobStoreUnavailableError,
    PresignedPut,
    public_key_path,
    validate_key,
    validate_presign_request,
)

DOWNLOAD_CHUNK_BYTES = 1024 * 1024
DELETE_BATCH = 1000
"""DeleteObjects takes at most 1000 keys per request."""
MAX_PRESIGN_LIFETIME = timedelta(days=7)
"""SigV4 presigned URLs cannot live longer."""

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "Throttling",
        "ThrottlingException",
        "TooManyRequests",
        "RequestLimitExceeded",
    }
)
_TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    botocore.exceptions.HTTPClientError,  # connection closed, read timeout, broken body stream
    botocore.exceptions.ConnectionError,  # could not connect, connect timeout
    botocore.exceptions.IncompleteReadError,
    botocore.exceptions.ChecksumError,
    botocore.exceptions.FlexibleChecksumError,
    aiohttp.ClientError,
    TimeoutError,
)


def _error_code(error: Any) -> tuple[str, int]:
    response = getattr(error, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


def is_not_found(error: BaseException) -> bool:
    """Whether a botocore `ClientError` says the object (not the bucket) does not exist."""
    if not isinstance(error, botocore.exceptions.ClientError):
        return False
    code, status = _error_code(error)
    return code in _NOT_FOUND_CODES or (status == 404 and code != "NoSuchBucket")


def is_transient(error: BaseException) -> bool:
    """Whether retrying later may succeed: network trouble, throttling, 5xx."""
    if isinstance(error, botocore.exceptions.ClientError):
        code, status = _error_code(error)
        return code in _TRANSIENT_CODES or status >= 500 or status == 429
    return isinstance(error, _TRANSIENT_EXCEPTIONS)


@contextlib.contextmanager
def _translated_errors(key: str) -> Iterator[None]:
    """Turn botocore/aiohttp errors into `BlobStoreError`s (not found, unavailable, other)."""
    try:
        yield
    except BlobStoreError:
        raise
    except Exception as error:
        if is_not_found(error):
            raise BlobNotFoundError(key) from error
        if is_transient(error):
            raise BlobStoreUnavailableError(f"S3 unavailable ({key}): {error}") from error
        if isinstance(error, botocore.exceptions.ClientError | botocore.exceptions.BotoCoreError):
            raise BlobStoreError(f"S3 request failed ({key}): {error}") from error
        raise


class S3BlobStore:
    """`BlobStore` over one S3 bucket.

    `endpoint_url` points at an S3-compatible server (path-style addressing is then used);
    None means AWS. `public_base_url` is the CDN in front of the bucket, None to link to the
    bucket itself. Credentials come from `session` (environment, profile or instance role).
    """

    def __init__(
        self,
        session: aioboto3.Session,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        public_base_url: str | None,
        max_attempts: int = 4,
        connect_timeout: float = 5,
        read_timeout: float = 60,
    ) -> None:
        self._session = session
        self._bucket = bucket
        self._endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self._region = region
        self._public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self._config = botocore.config.Config(
            region_name=region,
            signature_version="s3v4",
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            s3={"addressing_style": "path" if endpoint_url else "virtual"},
            # Checksums only where S3 requires them: many S3-compatible stores reject the
            # CRC32 headers/trailers botocore would otherwise add to every PutObject.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._client_instance: Any = None

    async def open(self) -> None:
        """Create the S3 client (connection pool). Side effects: none on the network yet."""
        if self._exit_stack is not None:
            raise RuntimeError("S3BlobStore is already open")
        stack = contextlib.AsyncExitStack()
        self._client_instance = await stack.enter_async_context(
            self._session.client("s3", endpoint_url=self._endpoint_url, config=self._config)
        )
        self._exit_stack = stack

    async def close(self) -> None:
        """Close the client and its connections; the store can be opened again."""
        stack, self._exit_stack, self._client_instance = self._exit_stack, None, None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> S3BlobStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def _client(self) -> Any:
        if self._client_instance is None:
            raise RuntimeError("S3BlobStore is not open (use `async with` or `await open()`)")
        return self._client_instance

    # -- BlobStore ---------------------------------------------------------------------------

    async def presign_get(self, key: str, *, expires_in: timedelta, filename: str) -> str:
        """No network I/O: signs locally with the session's credentials."""
        validate_key(key)
        validate_presign_request(0, expires_in)
        if expires_in > MAX_PRESIGN_LIFETIME:
            raise ValueError("S3 presigned URLs live at most 7 days")
        with _translated_errors(key):
            url: str = await self._client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                },
                ExpiresIn=max(1, int(expires_in.total_seconds())),
                HttpMethod="GET",
            )
        return url

    async def presign_put(
        self, key: str, *, content_type: str, byte_size: int, expires_in: timedelta
    ) -> PresignedPut:
        """No network I/O: signs locally with the session's credentials."""
        validate_key(key)
        validate_presign_request(byte_size, expires_in)
        if expires_in > MAX_PRESIGN_LIFETIME:
            raise ValueError("S3 presigned URLs live at most 7 days")
        seconds = max(1, int(expires_in.total_seconds()))
        issued = datetime.now(UTC)
        with _translated_errors(key):
            url: str = await self._client.generate_presigned_url(
                "put_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ContentType": content_type,
                    "ContentLength": byte_size,
                },
                ExpiresIn=seconds,
                HttpMethod="PUT",
            )
        return PresignedPut(
            url=url,
            headers={"Content-Type": content_type},
            expires_at=_signed_at(url, default=issued) + timedelta(seconds=seconds),
        )

    async def stat(self, key: str) -> BlobStat | None:
        validate_key(key)
        try:
            with _translated_errors(key):
                head = await self._client.head_object(Bucket=self._bucket, Key=key)
        except BlobNotFoundError:
            return None
        return BlobStat(size=int(head["ContentLength"]), content_type=head.get("ContentType"))

    async def read_head(self, key: str, length: int) -> bytes:
        validate_key(key)
        if length <= 0:
            await self._require(key)
            return b""
        with _translated_errors(key):
            try:
                response = await self._client.get_object(
                    Bucket=self._bucket, Key=key, Range=f"bytes=0-{length - 1}"
                )
            except botocore.exceptions.ClientError as error:
                # An empty object has no byte 0: S3 answers 416 to any range.
                if _error_code(error)[0] == "InvalidRange":
                    return b""
                raise
            body = response["Body"]
            async with body:  # releases the connection; reads go through the checking wrapper
                data: bytes = await body.read()
        return data[:length]

    async def download(self, key: str, destination: Path) -> None:
        """Side effects: writes a temp file beside `destination`, then renames it over it."""
        validate_key(key)
        with _translated_errors(key):
            response = await self._client.get_object(Bucket=self._bucket, Key=key)
            body = response["Body"]
            async with body:  # releases the connection; reads go through the checking wrapper
                fd, name = await asyncio.to_thread(
                    tempfile.mkstemp, dir=destination.parent, prefix=f".{destination.name}."
                )
                target = os.fdopen(fd, "wb")
                try:
                    pending = bytearray()
                    # read() returns what has arrived (often 64 KiB): gather before each write.
                    while chunk := await body.read(DOWNLOAD_CHUNK_BYTES):
                        pending += chunk
                        if len(pending) >= DOWNLOAD_CHUNK_BYTES:
                            await asyncio.to_thread(target.write, pending)
                            pending = bytearray()
                    await asyncio.to_thread(target.write, pending)
                    await asyncio.to_thread(_close_and_replace, target, name, destination)
                except BaseException:
                    # Synchronous: also runs on cancellation; close and unlink are quick.
                    _discard(target, name)
                    raise

    async def put(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        """Side effects: replaces the object."""
        validate_key(key)
        with _translated_errors(key):
            await self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl=cache_control,
            )

    async def put_file(
        self, key: str, source: Path, *, content_type: str, cache_control: str
    ) -> None:
        """Side effects: replaces the object (a multipart upload above 8 MiB)."""
        validate_key(key)
        with _translated_errors(key):
            await self._client.upload_file(
                str(source),
                self._bucket,
                key,
                ExtraArgs={"ContentType": content_type, "CacheControl": cache_control},
            )

    async def move(self, source_key: str, destination_key: str) -> None:
        """Side effects: a server-side copy (up to 5 GB; metadata kept), then the source's
        deletion. S3 cannot revoke a presigned PUT: one to `source_key` that lands after the copy
        is deleted with it or leaves a new object there; the moved object stays unchanged."""
        validate_key(source_key)
        validate_key(destination_key)
        with _translated_errors(source_key):
            await self._client.copy_object(
                Bucket=self._bucket,
                Key=destination_key,
                CopySource={"Bucket": self._bucket, "Key": source_key},
                MetadataDirective="COPY",
            )
        await self.delete([source_key])

    async def copy(
        self, source_key: str, destination_key: str, *, content_type: str, cache_control: str
    ) -> None:
        """Side effects: replaces the destination (server-side copy, up to 5 GB)."""
        validate_key(source_key)
        validate_key(destination_key)
        with _translated_errors(source_key):
            await self._client.copy_object(
                Bucket=self._bucket,
                Key=destination_key,
                CopySource={"Bucket": self._bucket, "Key": source_key},
                MetadataDirective="REPLACE",
                ContentType=content_type,
                CacheControl=cache_control,
            )

    async def delete(self, keys: Sequence[str]) -> None:
        """Side effects: deletes the objects, in batches of `DELETE_BATCH`."""
        for key in keys:
            validate_key(key)
        for start in range(0, len(keys), DELETE_BATCH):
            batch = list(keys[start : start + DELETE_BATCH])
            with _translated_errors(batch[0]):
                response = await self._client.delete_objects(
                    Bucket=self._bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
            errors = response.get("Errors") or []
            if errors:
                codes = {str(error.get("Code", "")) for error in errors}
                message = f"S3 could not delete {len(errors)} object(s): {sorted(codes)}"
                if codes <= _TRANSIENT_CODES:
                    raise BlobStoreUnavailableError(message)
                raise BlobStoreError(message)

    def public_url(self, key: str) -> str:
        path = public_key_path(key)
        if self._public_base_url:
            return f"{self._public_base_url}/{path}"
        if self._endpoint_url:
            return f"{self._endpoint_url}/{self._bucket}/{path}"
        return f"https://{self._bucket}.s3.{self._region}.amazonaws.com/{path}"

    async def _require(self, key: str) -> None:
        if await self.stat(key) is None:
            raise BlobNotFoundError(key)


def _signed_at(url: str, *, default: datetime) -> datetime:
    """When a SigV4 presigned URL was signed (its X-Amz-Date): its lifetime counts from there."""
    values = parse_qs(urlsplit(url).query).get("X-Amz-Date", [])
    try:
        return datetime.strptime(values[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except (IndexError, ValueError):
        return default


def _close_and_replace(target: IO[bytes], temp_name: str, destination: Path) -> None:
    target.close()
    Path(temp_name).replace(destination)


def _discard(target: IO[bytes], temp_name: str) -> None:
    target.close()
    Path(temp_name).unlink(missing_ok=True)
