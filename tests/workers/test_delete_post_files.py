"""Deleting a post removes its media files from storage (a job after the delete), through a real
burst arq worker on the test Redis and real processed images."""

from __future__ import annotations

from resources import Resources
from services import media, posts
from settings import Settings
from storage.pg import media as media_store
from tests import media_fixtures
from tests.conftest import run_worker_until_idle
from tests.factories import make_user, viewer_of
from tests.workers.test_process_media import start_processing


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
    assert len(keys) == 2 * 7  # per 1600-wide photo: the original and six variants
    assert all([await clean.blobs.stat(key) for key in keys])
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
    assert all([await clean.blobs.stat(key) for key in media.file_keys(kept)])
    assert await media.delete_post_files(clean.media, post.id) == 0
