"""Deleting a post removes its media files from storage (a job after the delete), through a real
burst arq worker on the test Redis and real processed images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from resources import Resources
from services import media, media_processing, posts
from services.media_processing import variant_key
from settings import Settings
from storage.pg import media as media_store
from storage.pg.users import UserRecord
from tests import media_fixtures
from tests.conftest import run_worker_until_idle
from tests.factories import make_user, viewer_of
from tests.workers.test_process_media import processing_deps, start_processing


async def test_deleting_a_post_deletes_its_media_files(
    clean: Resources, settings: Settings
) -> None:
    author = await make_user(clean.db, "author")
    viewer = viewer_of(author)
    photos = [
        await start_processing(
            clean, author, media_fixtures.jpeg_with_exif(1600, 1200), "image/jpeg"
        )
        for _ in range(2)
    ]
    await run_worker_until_idle(settings)
    post = await posts.create_post(
        clean.posts, viewer, media_ids=photos, caption="two #photos", alt_texts=[]
    )
    assert post.status == "PUBLISHED"
    records = await media_store.fetch_media_by_ids(clean.db, photos)
    keys = [key for record in records for key in media.file_keys(record)]
    # Per 1600-wide photo: its upload key (emptied when completeUpload sealed the file; listed
    # for what a late PUT may leave there), the sealed original and six variants.
    assert len(keys) == 2 * 8
    upload_keys = {media.upload_key(photo) for photo in photos}
    assert all([await clean.blobs.stat(key) for key in keys if key not in upload_keys])
    other = await start_processing(clean, author, media_fixtures.jpeg_with_exif(), "image/jpeg")
    await run_worker_until_idle(settings)

    await posts.delete_post(clean.posts, viewer, post.id)
    await run_worker_until_idle(settings)

    assert [await clean.blobs.stat(key) for key in keys] == [None] * len(keys)
    deleted = await media_store.fetch_media_by_ids(clean.db, photos)
    assert {(m.status, m.variants, m.blurhash, m.photo_metadata) for m in deleted} == {
        ("DELETED", (), None, None)
    }
    # Media outside the post keep their files; running the job again finds nothing to do.
    (kept,) = await media_store.fetch_media_by_ids(clean.db, [other])
    assert kept.status == "READY"
    kept_keys = media.file_keys(kept)[1:]  # all but the (emptied) upload key
    assert len(kept_keys) == 5  # a 640-wide photo: four variants, the sealed original
    assert all([await clean.blobs.stat(key) for key in kept_keys])
    assert await media.delete_post_files(clean.media, post.id) == 0


class DeletePostDuringProcessing:
    """A blob store on which the post is deleted (and its files job runs) right after the
    processing job has downloaded the original: the race the job must clean up after."""

    def __init__(self, resources: Resources, post_id: int, author: UserRecord) -> None:
        self._resources = resources
        self._post_id = post_id
        self._author = author

    async def download(self, key: str, destination: Path) -> None:
        await self._resources.blobs.download(key, destination)
        await posts.delete_post(self._resources.posts, viewer_of(self._author), self._post_id)
        assert await media.delete_post_files(self._resources.media, self._post_id) == 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resources.blobs, name)


async def test_a_post_deleted_while_its_media_is_processed_leaves_no_files(
    clean: Resources,
) -> None:
    author = await make_user(clean.db, "author")
    photo = await start_processing(
        clean, author, media_fixtures.jpeg_with_exif(1600, 1200), "image/jpeg"
    )
    post = await posts.create_post(
        clean.posts, viewer_of(author), media_ids=[photo], caption=None, alt_texts=[]
    )
    assert post.status == "PROCESSING"
    deps = processing_deps(clean, blobs=DeletePostDuringProcessing(clean, post.id, author))

    outcome = await media_processing.process_media(deps, photo, last_try=False)

    assert outcome is None  # it was no longer PROCESSING when the variants were stored
    (record,) = await media_store.fetch_media_by_ids(clean.db, [photo])
    assert (record.status, record.variants) == ("DELETED", ())
    names = ("1080", "750", "640", "480", "thumb320", "thumb160")
    stored = [await clean.blobs.stat(variant_key(record, name)) for name in names]
    assert stored == [None] * len(names)
    assert await clean.blobs.stat(media.upload_key(photo)) is None
