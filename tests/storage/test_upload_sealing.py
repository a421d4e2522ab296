"""An upload cannot be swapped once completeUpload has checked it, on both blob backends.

The swap: PUT other bytes of the same size to the still-valid upload URL after completeUpload
(and again right after the processing job downloaded its copy). The local backend's upload route
refuses it (409); S3 cannot revoke a presigned PUT, so the PUT lands on the upload key, which
nothing reads any more: completeUpload moved the file to a sealed key, and the job reads that
key once and publishes only what it derived from its own copy.

The moment "right after the job's download" is hooked deterministically with a wrapper around
the job's blob store (no sleeps). The local variant goes through the real app (its upload route
checks the media's state in PostgreSQL); the S3 variant through moto.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from services import media, media_processing
from services.errors import DomainError
from services.media import MediaDeps, upload_key
from services.media_processing import ProcessingDeps
from storage.blobs import BlobStore
from storage.pg import media as media_store
from storage.pg.media import MediaRecord
from storage.pg.users import UserRecord
from tests import media_fixtures
from tests.conftest import LiveApp
from tests.factories import make_user, viewer_of
from tests.storage.conftest import BlobBackend
from tests.workers.test_process_media import processing_deps

UPLOAD_CLOSED = {"error": "this upload is closed: completeUpload has already taken the file"}


@dataclasses.dataclass
class Pipeline:
    """The upload and processing services over one blob backend, and a client for its URLs."""

    backend: str
    media: MediaDeps
    processing: ProcessingDeps
    http: httpx.AsyncClient
    owner: UserRecord

    @property
    def blobs(self) -> BlobStore:
        return self.media.blobs


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> tuple[str, BlobStore | None]:
    """The backend's name, and its store (None for local: the live app's, see `pipeline`)."""
    if request.param == "local":
        return "local", None
    s3: BlobBackend = request.getfixturevalue("s3_backend")
    return "s3", s3.store


@pytest.fixture
async def pipeline(
    backend: tuple[str, BlobStore | None], live: LiveApp, blob_http: httpx.AsyncClient
) -> Pipeline:
    """local: the live app's store, whose upload URLs point at the app's own route. s3: moto."""
    name, store = backend
    blobs = store or live.resources.blobs
    owner = await make_user(live.resources.db, "owner")
    return Pipeline(
        backend=name,
        media=dataclasses.replace(live.resources.media, blobs=blobs),
        processing=processing_deps(live.resources, blobs=blobs),
        http=blob_http,
        owner=owner,
    )


class AfterDownload:
    """The job's blob store, running `hook(key)` right after each download: the moment the job
    holds its copy of the original and has not checked it yet."""

    def __init__(self, inner: BlobStore, hook: Callable[[str], Awaitable[None]]) -> None:
        self._inner = inner
        self._hook = hook
        self.downloaded: list[str] = []

    async def download(self, key: str, destination: Path) -> None:
        await self._inner.download(key, destination)
        self.downloaded.append(key)
        await self._hook(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def two_clips() -> tuple[bytes, bytes]:
    """A 320x240 clip and a 160x120 one, padded to the same size."""
    first, second = media_fixtures.mp4(320, 240), media_fixtures.mp4(160, 120)
    size = max(len(first), len(second)) + 64
    return media_fixtures.padded_to(first, size), media_fixtures.padded_to(second, size)


def pictures(path: Path) -> list[tuple[int, int]]:
    """The size of every decoded picture of a video file."""
    with av.open(str(path)) as container:
        return [(frame.width, frame.height) for frame in container.decode(video=0)]


async def upload_and_complete(p: Pipeline, data: bytes) -> tuple[MediaRecord, str]:
    """createUpload, a real PUT to its URL, completeUpload; returns the media and the URL."""
    viewer = viewer_of(p.owner)
    created = await media.create_upload(
        p.media, viewer, filename="clip.mp4", content_type="video/mp4", byte_size=len(data)
    )
    put = await p.http.put(created.upload.url, content=data, headers=created.upload.headers)
    assert put.status_code == 200, put.text
    completed = await media.complete_upload(p.media, viewer, created.media.id)
    assert completed.status == "PROCESSING"
    return completed, created.upload.url


async def assert_published_from(
    p: Pipeline, record: MediaRecord, clip: bytes, tmp_path: Path
) -> None:
    """`record` is READY with the size, variants and rendition of `clip` (320x240: the other
    clip is 160x120), and as many pictures as `clip`."""
    assert record.status == "READY", record.rejection_reason
    assert (record.width, record.height) == (320, 240)
    assert [(v.name, v.width, v.height) for v in record.variants] == [
        ("thumb320", 240, 240),
        ("thumb160", 160, 160),
        ("480", 320, 240),
    ]
    assert [(r.width, r.height) for r in record.renditions] == [(320, 240)]
    assert record.playback_key == record.renditions[0].key
    published, expected = tmp_path / "published.mp4", tmp_path / "expected.mp4"
    await p.blobs.download(record.playback_key, published)
    expected.write_bytes(clip)
    assert pictures(published) == pictures(expected)


async def test_a_put_after_complete_upload_is_refused_or_never_read(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    p = pipeline
    first, second = two_clips()
    completed, url = await upload_and_complete(p, first)
    assert completed.original_key is not None
    sealed = completed.original_key
    headers = {"Content-Type": "video/mp4"}
    late_puts: list[httpx.Response] = []

    async def swap(key: str) -> None:
        late_puts.append(await p.http.put(url, content=second, headers=headers))

    await swap("after completeUpload")
    job_store = AfterDownload(p.blobs, swap)
    outcome = await media_processing.process_media(
        dataclasses.replace(p.processing, blobs=job_store), completed.id, last_try=True
    )

    assert job_store.downloaded == [sealed]  # one read, of the sealed key, never the upload key
    if p.backend == "local":
        assert [(r.status_code, r.json()) for r in late_puts] == [(409, UPLOAD_CLOSED)] * 2
        assert await p.blobs.stat(upload_key(completed.id)) is None  # nothing was stored
    else:
        # A presigned S3 PUT cannot be revoked: it lands on the upload key, which nobody reads.
        assert [r.status_code for r in late_puts] == [200, 200]
        assert await p.blobs.read_head(upload_key(completed.id), len(second) + 1) == second
    assert outcome is not None
    await assert_published_from(p, outcome, first, tmp_path)
    assert await p.blobs.read_head(sealed, len(first) + 1) == first


async def test_the_job_publishes_only_what_it_derived_from_its_one_download(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """Even if the object the job read were replaced right after its download (no URL can do
    that any more: this is the seam), the published files derive from the downloaded copy."""
    p = pipeline
    first, second = two_clips()
    completed, _ = await upload_and_complete(p, first)

    async def replace_what_was_read(key: str) -> None:
        await p.blobs.put(key, second, content_type="video/mp4", cache_control="private")

    job_store = AfterDownload(p.blobs, replace_what_was_read)
    outcome = await media_processing.process_media(
        dataclasses.replace(p.processing, blobs=job_store), completed.id, last_try=True
    )

    assert len(job_store.downloaded) == 1
    assert outcome is not None
    await assert_published_from(p, outcome, first, tmp_path)


async def test_a_swap_before_complete_upload_is_what_gets_checked(pipeline: Pipeline) -> None:
    """completeUpload checks the object it sealed: bytes PUT in place of a good file before the
    call are the ones checked (and refused here), never a file checked earlier."""
    p = pipeline
    jpeg = media_fixtures.jpeg_with_exif(64, 48)
    svg = media_fixtures.SVG_DISGUISED_AS_JPEG
    svg = svg + b" " * (len(jpeg) - len(svg))
    viewer = viewer_of(p.owner)
    created = await media.create_upload(
        p.media, viewer, filename="p.jpg", content_type="image/jpeg", byte_size=len(jpeg)
    )
    for body in (jpeg, svg):
        put = await p.http.put(created.upload.url, content=body, headers=created.upload.headers)
        assert put.status_code == 200, put.text

    with pytest.raises(DomainError) as refused:
        await media.complete_upload(p.media, viewer, created.media.id)

    assert [e.code.value for e in refused.value.errors] == ["UNSUPPORTED_MEDIA_TYPE"]
    (record,) = await media_store.fetch_media_by_ids(p.media.db, [created.media.id])
    assert (record.status, record.original_key) == ("AWAITING_UPLOAD", None)
    assert await p.blobs.stat(upload_key(created.media.id)) is None  # the refused file is gone
