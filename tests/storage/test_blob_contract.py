"""One contract for both blob backends (local files + app routes, S3 on moto), then what is
specific to each. Presigned PUTs go through a real HTTP client to a real server on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import botocore.exceptions
import httpx
import pytest

from storage.blobs import (
    IMMUTABLE_CACHE_CONTROL,
    BlobNotFoundError,
    BlobStat,
    BlobStoreError,
    BlobStoreUnavailableError,
    InvalidBlobKeyError,
    PresignedPut,
)
from storage.blobs.local import LocalBlobStore
from storage.blobs.s3 import S3BlobStore, is_not_found, is_transient
from tests.storage.conftest import S3_BUCKET, S3_REGION, BlobBackend, aws_session, local_store

JPEG = "image/jpeg"
TTL = timedelta(minutes=15)


def upload_key() -> str:
    return f"uploads/{uuid4().hex}/original"


def media_key(name: str = "1080.jpg") -> str:
    return f"media/{uuid4().hex}/{name}"


def jpeg_like(size: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4)


def md5_etag(data: bytes) -> str:
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


def listing(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def signed_headers(presigned: PresignedPut) -> set[str]:
    """The headers a SigV4 presigned URL binds its signature to."""
    query = parse_qs(urlsplit(presigned.url).query)
    return set(query["X-Amz-SignedHeaders"][0].split(";"))


async def presign(backend: BlobBackend, key: str, data: bytes, **changes: object) -> PresignedPut:
    arguments: dict[str, object] = {"content_type": JPEG, "byte_size": len(data), "expires_in": TTL}
    arguments.update(changes)
    return await backend.store.presign_put(key, **arguments)  # type: ignore[arg-type]


async def upload(
    backend: BlobBackend,
    presigned: PresignedPut,
    body: bytes | AsyncIterator[bytes],
    *,
    headers: dict[str, str] | None = None,
    url: str | None = None,
) -> httpx.Response:
    return await backend.http.put(
        url or presigned.url, content=body, headers=headers or presigned.headers
    )


# -- the contract, on both backends ----------------------------------------------------------------


async def test_presigned_put_then_stat_read_head_and_download(
    blob_backend: BlobBackend, tmp_path: Path
) -> None:
    store, key, data = blob_backend.store, upload_key(), jpeg_like(300_000)
    before = datetime.now(UTC)
    presigned = await presign(blob_backend, key, data)
    after = datetime.now(UTC)

    assert presigned.headers["Content-Type"] == JPEG
    assert before + TTL - timedelta(seconds=1) <= presigned.expires_at <= after + TTL
    assert await store.stat(key) is None

    response = await upload(blob_backend, presigned, data)

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == md5_etag(data)
    assert await store.stat(key) == BlobStat(size=len(data), content_type=JPEG)
    assert await store.read_head(key, 16) == data[:16]
    assert await store.read_head(key, len(data) + 100) == data
    destination = tmp_path / "original"
    await store.download(key, destination)
    assert destination.read_bytes() == data
    assert listing(tmp_path) == ["original"]


async def test_download_streams_a_large_object_and_replaces_the_destination(
    blob_backend: BlobBackend, tmp_path: Path
) -> None:
    key, data = upload_key(), os.urandom(5 * 1024 * 1024 + 17)
    await blob_backend.store.put(key, data, content_type="video/mp4", cache_control="private")
    destination = tmp_path / "video"
    destination.write_bytes(b"stale")

    await blob_backend.store.download(key, destination)

    assert hashlib.sha256(destination.read_bytes()).digest() == hashlib.sha256(data).digest()


async def test_read_head_of_empty_and_short_objects(blob_backend: BlobBackend) -> None:
    empty, short = upload_key(), upload_key()
    await blob_backend.store.put(empty, b"", content_type=JPEG, cache_control="private")
    await blob_backend.store.put(short, b"abc", content_type=JPEG, cache_control="private")

    assert await blob_backend.store.read_head(empty, 64) == b""
    assert await blob_backend.store.read_head(short, 64) == b"abc"
    assert await blob_backend.store.read_head(short, 0) == b""
    assert await blob_backend.store.stat(empty) == BlobStat(size=0, content_type=JPEG)


async def test_put_overwrites_and_copy_publishes(blob_backend: BlobBackend) -> None:
    store, source, published = blob_backend.store, upload_key(), media_key()
    await store.put(source, b"first version", content_type="image/png", cache_control="private")
    data = jpeg_like(4096)
    await store.put(source, data, content_type=JPEG, cache_control="private")
    assert await store.stat(source) == BlobStat(size=len(data), content_type=JPEG)

    await store.copy(source, published, content_type=JPEG, cache_control=IMMUTABLE_CACHE_CONTROL)

    assert await store.stat(published) == BlobStat(size=len(data), content_type=JPEG)
    assert await store.stat(source) == BlobStat(size=len(data), content_type=JPEG)
    response = await blob_backend.http.get(store.public_url(published))
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == JPEG
    assert response.headers["cache-control"] == IMMUTABLE_CACHE_CONTROL
    assert response.headers["etag"] == md5_etag(data)


async def test_copy_replaces_an_existing_destination(blob_backend: BlobBackend) -> None:
    store, source, published = blob_backend.store, upload_key(), media_key("video.mp4")
    await store.put(published, b"old", content_type="video/mp4", cache_control="private")
    await store.put(source, b"new video", content_type="video/mp4", cache_control="private")

    await store.copy(
        source, published, content_type="video/mp4", cache_control=IMMUTABLE_CACHE_CONTROL
    )

    assert await store.read_head(published, 100) == b"new video"
    response = await blob_backend.http.get(store.public_url(published))
    assert (response.status_code, response.content) == (200, b"new video")
    assert response.headers["content-type"] == "video/mp4"


async def test_put_file_streams_a_local_file_and_publishes_it(
    blob_backend: BlobBackend, tmp_path: Path
) -> None:
    store, published = blob_backend.store, media_key("video.mp4")
    data = os.urandom(9 * 1024 * 1024 + 5)  # above S3's 8 MiB multipart threshold
    source = tmp_path / "playable"
    source.write_bytes(data)
    await store.put(published, b"old", content_type="video/mp4", cache_control="private")

    await store.put_file(
        published, source, content_type="video/mp4", cache_control=IMMUTABLE_CACHE_CONTROL
    )

    assert await store.stat(published) == BlobStat(size=len(data), content_type="video/mp4")
    response = await blob_backend.http.get(store.public_url(published))
    assert (response.status_code, response.content == data) == (200, True)
    assert response.headers["cache-control"] == IMMUTABLE_CACHE_CONTROL
    assert source.read_bytes() == data  # the source is left as it was


async def test_move_takes_the_object_away_from_its_key(blob_backend: BlobBackend) -> None:
    store, uploaded, sealed = blob_backend.store, upload_key(), upload_key()
    await store.put(sealed, b"stale", content_type="video/mp4", cache_control="private")
    await store.put(uploaded, b"checked bytes", content_type=JPEG, cache_control="private")

    await store.move(uploaded, sealed)

    assert await store.stat(uploaded) is None
    assert await store.stat(sealed) == BlobStat(size=13, content_type=JPEG)
    assert await store.read_head(sealed, 100) == b"checked bytes"
    # A write to the old key afterwards is a new object; the moved one does not change.
    await store.put(uploaded, b"swapped bytes", content_type=JPEG, cache_control="private")
    assert await store.read_head(sealed, 100) == b"checked bytes"
    with pytest.raises(BlobNotFoundError):
        await store.move(upload_key(), upload_key())
    with pytest.raises(InvalidBlobKeyError):
        await store.move(uploaded, "../escape")


async def test_a_presigned_put_after_a_move_leaves_the_moved_object_unchanged(
    blob_backend: BlobBackend,
) -> None:
    store, key, sealed = blob_backend.store, upload_key(), upload_key()
    first, second = jpeg_like(2000), jpeg_like(2000)
    presigned = await presign(blob_backend, key, first)
    assert (await upload(blob_backend, presigned, first)).status_code == 200

    await store.move(key, sealed)
    late = await upload(blob_backend, presigned, second)

    # The store itself still takes the late PUT (the app's route closes the URL: tests/workers);
    # whatever it wrote, the moved object is the first upload.
    assert late.status_code == 200
    assert await store.read_head(sealed, 5000) == first
    assert await store.read_head(key, 5000) == second


async def test_delete_removes_objects_and_ignores_missing_ones(blob_backend: BlobBackend) -> None:
    store, first, second = blob_backend.store, media_key(), upload_key()
    for key in (first, second):
        await store.put(key, b"x", content_type=JPEG, cache_control=IMMUTABLE_CACHE_CONTROL)

    await store.delete([first, second, upload_key()])
    await store.delete([])

    assert await store.stat(first) is None
    assert await store.stat(second) is None
    response = await blob_backend.http.get(store.public_url(first))
    # S3 answers 403 for a missing key to readers who may not list the bucket.
    assert response.status_code in (403, 404)


async def test_missing_objects(blob_backend: BlobBackend, tmp_path: Path) -> None:
    store, key = blob_backend.store, upload_key()

    assert await store.stat(key) is None
    with pytest.raises(BlobNotFoundError):
        await store.read_head(key, 10)
    with pytest.raises(BlobNotFoundError):
        await store.download(key, tmp_path / "out")
    with pytest.raises(BlobNotFoundError):
        await store.copy(key, media_key(), content_type=JPEG, cache_control="private")
    assert listing(tmp_path) == []


async def test_private_uploads_are_never_public(blob_backend: BlobBackend) -> None:
    store, key, data = blob_backend.store, upload_key(), jpeg_like(100)
    await store.put(key, data, content_type=JPEG, cache_control="private")

    with pytest.raises(InvalidBlobKeyError):
        store.public_url(key)
    # The URL it would have had, if it had been public:
    guessed = store.public_url("media/x.jpg").removesuffix("media/x.jpg") + key
    response = await blob_backend.http.get(guessed)
    assert response.status_code in (403, 404, 405)
    assert data not in response.content


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("media/12/640.jpg", "media/12/640.jpg"),
        ("media/12/a_b-c.d~e.jpg", "media/12/a_b-c.d~e.jpg"),
        ("media/12/a b+é.jpg", "media/12/a%20b%2B%C3%A9.jpg"),
    ],
)
def test_public_urls_end_with_the_quoted_key(
    blob_backend: BlobBackend, key: str, path: str
) -> None:
    base_url = blob_backend.store.public_url("media/x.jpg").removesuffix("/media/x.jpg")
    assert blob_backend.store.public_url(key) == f"{base_url}/{path}"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/uploads/1/original",
        "../uploads/1/original",
        "media/../uploads/1/original",
        "media/./1.jpg",
        "media//1.jpg",
        "media/1.jpg/",
        "media\\..\\uploads",
        "media/1\x00.jpg",
        "media/1\n.jpg",
        ".tmp/x",
        ".meta/uploads/1/original",
        "media/" + "x" * 1100,
        "media/.x.jpg",
    ],
)
async def test_unsafe_keys_are_refused_everywhere(
    blob_backend: BlobBackend, key: str, tmp_path: Path
) -> None:
    store, safe = blob_backend.store, upload_key()
    await store.put(safe, b"x", content_type=JPEG, cache_control="private")
    attempts = [
        store.presign_put(key, content_type=JPEG, byte_size=1, expires_in=TTL),
        store.stat(key),
        store.read_head(key, 1),
        store.download(key, tmp_path / "out"),
        store.put(key, b"x", content_type=JPEG, cache_control="private"),
        store.copy(safe, key, content_type=JPEG, cache_control="private"),
        store.copy(key, safe, content_type=JPEG, cache_control="private"),
        store.delete([safe, key]),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidBlobKeyError):
            await attempt
    with pytest.raises(InvalidBlobKeyError):
        store.public_url(key)
    # delete validates every key before deleting any.
    assert await store.stat(safe) == BlobStat(size=1, content_type=JPEG)


async def test_presign_refuses_nonsense_arguments(blob_backend: BlobBackend) -> None:
    with pytest.raises(ValueError, match="byte_size"):
        await presign(blob_backend, upload_key(), b"", byte_size=-1)
    with pytest.raises(ValueError, match="expires_in"):
        await presign(blob_backend, upload_key(), b"x", expires_in=timedelta(0))


# Refusals of presigned PUTs. The local routes verify them; moto verifies nothing about presigned
# requests (no signature, expiry, Content-Type or Content-Length check), so on S3 these tests
# assert what the backend itself guarantees: that the URL's SigV4 signature covers the rule,
# which real S3 then enforces (403 SignatureDoesNotMatch / AccessDenied "Request has expired").


async def test_put_with_another_content_type_is_refused(blob_backend: BlobBackend) -> None:
    key, data = upload_key(), jpeg_like(1000)
    presigned = await presign(blob_backend, key, data)
    if not blob_backend.verifies_presigned_puts:
        assert "content-type" in signed_headers(presigned)
        return

    response = await upload(blob_backend, presigned, data, headers={"Content-Type": "text/html"})

    assert response.status_code == 400
    assert "Content-Type" in response.json()["error"]
    assert await blob_backend.store.stat(key) is None


async def test_put_of_a_longer_body_is_refused(blob_backend: BlobBackend) -> None:
    key, data = upload_key(), jpeg_like(1000)
    presigned = await presign(blob_backend, key, data)
    if not blob_backend.verifies_presigned_puts:
        assert "content-length" in signed_headers(presigned)
        return

    response = await upload(blob_backend, presigned, data + b"more")

    assert response.status_code == 413
    assert "error" in response.json()
    assert await blob_backend.store.stat(key) is None


async def test_put_of_a_shorter_body_is_refused(blob_backend: BlobBackend) -> None:
    key, data = upload_key(), jpeg_like(1000)
    presigned = await presign(blob_backend, key, data)
    if not blob_backend.verifies_presigned_puts:
        assert "content-length" in signed_headers(presigned)
        return

    response = await upload(blob_backend, presigned, data[:-1])

    assert response.status_code == 400
    assert "error" in response.json()
    assert await blob_backend.store.stat(key) is None


async def test_expired_url_is_refused(blob_backend: BlobBackend) -> None:
    key, data = upload_key(), jpeg_like(1000)
    if not blob_backend.verifies_presigned_puts:
        presigned = await presign(blob_backend, key, data, expires_in=timedelta(seconds=1))
        assert parse_qs(urlsplit(presigned.url).query)["X-Amz-Expires"] == ["1"]
        assert presigned.expires_at <= datetime.now(UTC) + timedelta(seconds=1)
        return
    assert blob_backend.root is not None
    # The same store an hour ago: signs a URL that has already expired.
    base_url = blob_backend.store.public_url("media/x.jpg").removesuffix("/media/x.jpg")
    past = local_store(blob_backend.root, base_url, clock_offset=-3600)
    presigned = await past.presign_put(key, content_type=JPEG, byte_size=len(data), expires_in=TTL)

    response = await upload(blob_backend, presigned, data)

    assert response.status_code == 403
    assert "expired" in response.json()["error"]
    assert await blob_backend.store.stat(key) is None


@pytest.mark.parametrize(
    ("parameter", "value"), [("sig", "0" * 64), ("size", "1001"), ("type", "image/png")]
)
async def test_tampered_url_is_refused(
    blob_backend: BlobBackend, parameter: str, value: str
) -> None:
    if not blob_backend.verifies_presigned_puts:
        pytest.skip("moto does not verify presigned URL signatures (real S3 does)")
    key, data = upload_key(), jpeg_like(1000)
    presigned = await presign(blob_backend, key, data)
    url = httpx.URL(presigned.url).copy_set_param(parameter, value)
    headers = {"Content-Type": value} if parameter == "type" else presigned.headers
    body = data + b"x" if parameter == "size" else data

    response = await upload(blob_backend, presigned, body, headers=headers, url=str(url))

    assert response.status_code == 403
    assert "signature" in response.json()["error"]
    assert await blob_backend.store.stat(key) is None


async def test_url_for_one_key_cannot_upload_another(blob_backend: BlobBackend) -> None:
    if not blob_backend.verifies_presigned_puts:
        pytest.skip("moto does not verify presigned URL signatures (real S3 does)")
    key, other, data = upload_key(), upload_key(), jpeg_like(100)
    presigned = await presign(blob_backend, key, data)

    response = await upload(blob_backend, presigned, data, url=presigned.url.replace(key, other))

    assert response.status_code == 403
    assert await blob_backend.store.stat(other) is None


# -- local backend: the routes ---------------------------------------------------------------------


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        chunk = os.urandom(min(size, total - sent))
        sent += len(chunk)
        yield chunk


async def test_local_streamed_body_is_cut_off_once_it_exceeds_the_signed_size(
    local_backend: BlobBackend,
) -> None:
    key = upload_key()
    presigned = await local_backend.store.presign_put(
        key, content_type=JPEG, byte_size=100_000, expires_in=TTL
    )

    # An async body goes out chunked: no Content-Length to refuse up front.
    response = await upload(local_backend, presigned, chunks(100_001, size=20_000))

    assert response.status_code == 413
    assert await local_backend.store.stat(key) is None


async def test_local_streamed_body_that_ends_short_is_refused(local_backend: BlobBackend) -> None:
    key = upload_key()
    presigned = await local_backend.store.presign_put(
        key, content_type=JPEG, byte_size=100_000, expires_in=TTL
    )

    response = await upload(local_backend, presigned, chunks(99_999))

    assert response.status_code == 400
    assert await local_backend.store.stat(key) is None


async def test_local_upload_is_streamed_not_buffered(local_backend: BlobBackend) -> None:
    key, size = upload_key(), 16 * 1024 * 1024
    presigned = await local_backend.store.presign_put(
        key, content_type="video/mp4", byte_size=size, expires_in=TTL
    )
    tracemalloc.start()
    try:
        response = await upload(local_backend, presigned, chunks(size))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 200, response.text
    assert await local_backend.store.stat(key) == BlobStat(size=size, content_type="video/mp4")
    assert peak < 6 * 1024 * 1024  # client and server together, for a 16 MiB body


async def test_local_refuses_uploads_above_the_route_limit(local_backend: BlobBackend) -> None:
    key = upload_key()
    presigned = await local_backend.store.presign_put(
        key, content_type=JPEG, byte_size=64 * 1024 * 1024, expires_in=TTL
    )

    response = await upload(local_backend, presigned, chunks(1000))

    assert response.status_code == 413
    assert await local_backend.store.stat(key) is None


async def test_local_upload_replaces_an_existing_object(local_backend: BlobBackend) -> None:
    store, key = local_backend.store, upload_key()
    await store.put(key, b"old", content_type="image/png", cache_control="private")
    presigned = await store.presign_put(key, content_type=JPEG, byte_size=3, expires_in=TTL)

    response = await upload(local_backend, presigned, b"new")

    assert response.status_code == 200
    assert await store.stat(key) == BlobStat(size=3, content_type=JPEG)
    assert await store.read_head(key, 10) == b"new"


async def raw_get(base_url: str, target: str) -> int:
    """The status of a GET of `target` sent byte for byte (HTTP clients normalize `..`)."""
    url = httpx.URL(base_url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1])


async def test_local_media_route_serves_nothing_outside_media(local_backend: BlobBackend) -> None:
    store, key = local_backend.store, upload_key()
    await store.put(key, b"private", content_type=JPEG, cache_control=IMMUTABLE_CACHE_CONTROL)
    base_url = store.public_url("media/x.jpg").removesuffix("/media/x.jpg")
    rest = key.removeprefix("uploads/")

    for target in (
        f"/media/../uploads/{rest}",
        f"/media/../{key}",
        f"/media/%2e%2e/uploads/{rest}",
        f"/media/..%2F{key}",
        f"/media/x/../../{key}",
        "/media/../../../../etc/passwd",
        "/media/.meta/" + key,
        "/media/",
    ):
        assert await raw_get(base_url, target) == 404, target
    response = await local_backend.http.get(f"{base_url}/media/%2e%2e/{key}")
    assert response.status_code == 404


async def test_local_media_route_head_and_revalidation(local_backend: BlobBackend) -> None:
    store, key, data = local_backend.store, media_key("video.mp4"), os.urandom(2048)
    await store.put(key, data, content_type="video/mp4", cache_control=IMMUTABLE_CACHE_CONTROL)
    url = store.public_url(key)

    head = await local_backend.http.head(url)
    ranged = await local_backend.http.get(url, headers={"Range": "bytes=0-9"})
    again = await local_backend.http.get(url, headers={"If-None-Match": md5_etag(data)})

    assert head.status_code == 200
    assert head.headers["content-length"] == "2048"
    assert head.headers["content-type"] == "video/mp4"
    assert head.content == b""
    assert (ranged.status_code, ranged.content) == (206, data[:10])
    assert again.status_code == 304
    assert again.headers["cache-control"] == IMMUTABLE_CACHE_CONTROL


async def test_local_media_type_comes_from_the_extension_not_the_upload(
    local_backend: BlobBackend,
) -> None:
    store, key = local_backend.store, media_key("page.html")
    await store.put(key, b"<script>", content_type="text/html", cache_control="public")

    response = await local_backend.http.get(store.public_url(key))

    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_local_keys_cannot_escape_the_root_through_symlinks(
    tmp_path: Path,
) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "media").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"secret")
    (root / "media" / "evil").symlink_to(outside)
    store = LocalBlobStore(root, signing_key=b"k", public_base_url="http://127.0.0.1")

    with pytest.raises(InvalidBlobKeyError):
        await store.read_head("media/evil/secret.jpg", 10)
    with pytest.raises(InvalidBlobKeyError):
        await store.put("media/evil/new.jpg", b"x", content_type=JPEG, cache_control="public")
    assert await store.open_public("media/evil/secret.jpg") is None
    assert not (outside / "new.jpg").exists()


async def test_local_write_leaves_no_temp_files(local_backend: BlobBackend) -> None:
    assert local_backend.root is not None
    key = upload_key()
    presigned = await local_backend.store.presign_put(
        key, content_type=JPEG, byte_size=10, expires_in=TTL
    )
    await upload(local_backend, presigned, b"01234567890")  # refused
    await upload(local_backend, presigned, chunks(11, size=4))  # refused mid-stream
    await local_backend.store.put(key, b"x", content_type=JPEG, cache_control="private")

    # Temp files live in a folder of this process (storage.scratch), now empty.
    assert [path for path in (local_backend.root / ".tmp").rglob("*") if path.is_file()] == []


# -- S3 backend ------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_s3_unreachable_store_is_unavailable_not_missing(tmp_path: Path) -> None:
    async with S3BlobStore(
        aws_session(),
        bucket=S3_BUCKET,
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        region=S3_REGION,
        public_base_url=None,
        max_attempts=1,  # botocore's own retries are not under test
        connect_timeout=1,
    ) as store:
        started = time.monotonic()
        for attempt in (
            store.stat(upload_key()),
            store.read_head(upload_key(), 10),
            store.download(upload_key(), tmp_path / "out"),
            store.put(upload_key(), b"x", content_type=JPEG, cache_control="private"),
            store.copy(upload_key(), media_key(), content_type=JPEG, cache_control="private"),
            store.delete([upload_key()]),
        ):
            with pytest.raises(BlobStoreUnavailableError):
                await attempt
    assert time.monotonic() - started < 30
    assert listing(tmp_path) == []


async def test_s3_configuration_errors_are_not_transient(moto_endpoint: str) -> None:
    async with S3BlobStore(
        aws_session(),
        bucket="no-such-bucket-here",
        endpoint_url=moto_endpoint,
        region=S3_REGION,
        public_base_url=None,
    ) as store:
        with pytest.raises(BlobStoreError) as raised:
            await store.put(upload_key(), b"x", content_type=JPEG, cache_control="private")
    assert not isinstance(raised.value, BlobStoreUnavailableError | BlobNotFoundError)


def client_error(code: str, status: int) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject"
    )


@pytest.mark.parametrize(
    ("error", "transient", "not_found"),
    [
        (client_error("SlowDown", 503), True, False),
        (client_error("InternalError", 500), True, False),
        (client_error("", 502), True, False),
        (client_error("RequestTimeout", 400), True, False),
        (client_error("AccessDenied", 403), False, False),
        (client_error("NoSuchKey", 404), False, True),
        (client_error("404", 404), False, True),
        (client_error("NoSuchBucket", 404), False, False),
        (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"), True, False),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"), True, False),
        (botocore.exceptions.NoCredentialsError(), False, False),
    ],
)
def test_s3_error_classification(error: Exception, transient: bool, not_found: bool) -> None:
    assert is_transient(error) is transient
    assert is_not_found(error) is not_found


def test_s3_public_urls() -> None:
    def store(endpoint_url: str | None, public_base_url: str | None) -> S3BlobStore:
        return S3BlobStore(
            aws_session(),
            bucket="shutter",
            endpoint_url=endpoint_url,
            region="eu-west-1",
            public_base_url=public_base_url,
        )

    key = "media/42/1080.jpg"
    assert store(None, "https://cdn.example/").public_url(key) == f"https://cdn.example/{key}"
    assert store("http://minio:9000", None).public_url(key) == f"http://minio:9000/shutter/{key}"
    assert store(None, None).public_url(key) == f"https://shutter.s3.eu-west-1.amazonaws.com/{key}"
    with pytest.raises(InvalidBlobKeyError):
        store(None, "https://cdn.example").public_url("uploads/42/original")


async def test_s3_store_must_be_open() -> None:
    store = S3BlobStore(
        aws_session(), bucket="b", endpoint_url=None, region=S3_REGION, public_base_url=None
    )
    with pytest.raises(RuntimeError, match="not open"):
        await store.stat("media/1.jpg")
