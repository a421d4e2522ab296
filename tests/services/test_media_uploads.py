"""createUpload and completeUpload: refusals that create nothing, exact checks of the bytes,
one job however often completeUpload is called."""

from __future__ import annotations

from datetime import timedelta

import pytest

from resources import Resources
from services import media
from services.errors import DomainError, UserErrorCode
from services.media import upload_key
from storage.pg.users import UserRecord
from tests import media_fixtures
from tests.factories import make_user, viewer_of

MB = 1024 * 1024


def codes(
    error: pytest.ExceptionInfo[DomainError],
) -> list[tuple[UserErrorCode, tuple[str, ...] | None]]:
    return [(item.code, item.field) for item in error.value.errors]


async def queued_jobs(resources: Resources) -> int:
    return len(await resources.redis.queued_jobs())


def uploaded_objects(resources: Resources, media_id: int) -> list[str]:
    """The names of the objects under uploads/<media id>/ (local backend)."""
    folder = resources.settings.media_dir / "uploads" / str(media_id)
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


async def sealed_name(resources: Resources, media_id: int) -> str:
    key = await resources.db.fetchval("SELECT original_key FROM media WHERE id = $1", media_id)
    assert isinstance(key, str)
    prefix = f"uploads/{media_id}/sealed-"
    assert key.startswith(prefix)
    assert len(key) == len(prefix) + 32  # 128 random bits
    return key.rsplit("/", 1)[1]


@pytest.fixture
async def owner(clean: Resources) -> UserRecord:
    return await make_user(clean.db, "owner")


@pytest.mark.parametrize(
    ("content_type", "byte_size", "expected"),
    [
        ("image/svg+xml", 1000, [(UserErrorCode.UNSUPPORTED_MEDIA_TYPE, ("contentType",))]),
        ("application/pdf", 1000, [(UserErrorCode.UNSUPPORTED_MEDIA_TYPE, ("contentType",))]),
        ("image/jpeg", 30 * MB + 1, [(UserErrorCode.MEDIA_TOO_LARGE, ("byteSize",))]),
        ("video/mp4", 200 * MB + 1, [(UserErrorCode.MEDIA_TOO_LARGE, ("byteSize",))]),
        ("image/png", 0, [(UserErrorCode.INVALID_INPUT, ("byteSize",))]),
    ],
)
async def test_create_upload_refusals_create_nothing(
    clean: Resources, owner: UserRecord, content_type: str, byte_size: int, expected: object
) -> None:
    with pytest.raises(DomainError) as error:
        await media.create_upload(
            clean.media,
            viewer_of(owner),
            filename="a.jpg",
            content_type=content_type,
            byte_size=byte_size,
        )
    assert codes(error) == expected
    assert await clean.db.fetchval("SELECT count(*) FROM media") == 0


async def test_create_upload_accepts_the_limits_exactly(
    clean: Resources, owner: UserRecord
) -> None:
    image = await media.create_upload(
        clean.media,
        viewer_of(owner),
        filename="big.jpg",
        content_type="IMAGE/JPEG",
        byte_size=30 * MB,
    )
    video = await media.create_upload(
        clean.media,
        viewer_of(owner),
        filename="clip.mov",
        content_type="video/quicktime",
        byte_size=200 * MB,
    )
    assert (image.media.kind, image.media.status, image.media.declared_content_type) == (
        "IMAGE",
        "AWAITING_UPLOAD",
        "image/jpeg",
    )
    assert (video.media.kind, video.media.status) == ("VIDEO", "AWAITING_UPLOAD")
    assert image.upload.headers["Content-Type"] == "image/jpeg"
    assert f"/uploads/uploads/{image.media.id}/original?" in image.upload.url
    lifetime = image.upload.expires_at - image.media.created_at
    assert 14 * 60 < lifetime.total_seconds() <= 15 * 60 + 5


async def test_complete_upload_checks_presence_size_and_real_type(
    clean: Resources, owner: UserRecord
) -> None:
    viewer = viewer_of(owner)
    jpeg = media_fixtures.jpeg_with_exif()
    created = await media.create_upload(
        clean.media, viewer, filename="p.jpg", content_type="image/jpeg", byte_size=len(jpeg)
    )
    key = upload_key(created.media.id)

    with pytest.raises(DomainError) as error:
        await media.complete_upload(clean.media, viewer, created.media.id)
    assert codes(error) == [(UserErrorCode.UPLOAD_INCOMPLETE, ("mediaId",))]

    await clean.blobs.put(key, jpeg[:-1], content_type="image/jpeg", cache_control="private")
    with pytest.raises(DomainError) as error:
        await media.complete_upload(clean.media, viewer, created.media.id)
    assert codes(error) == [(UserErrorCode.UPLOAD_INCOMPLETE, ("mediaId",))]

    svg_start = b'<svg xmlns="http://www.w3.org/2000/svg">'
    svg = svg_start + b" " * (len(jpeg) - len(svg_start))
    assert len(svg) == len(jpeg)
    await clean.blobs.put(key, svg, content_type="image/jpeg", cache_control="private")
    with pytest.raises(DomainError) as error:
        await media.complete_upload(clean.media, viewer, created.media.id)
    assert codes(error) == [(UserErrorCode.UNSUPPORTED_MEDIA_TYPE, ("mediaId",))]
    status = await clean.db.fetchval("SELECT status FROM media WHERE id = $1", created.media.id)
    assert status == "AWAITING_UPLOAD"
    assert await queued_jobs(clean) == 0
    # Each refused file was taken from the upload key, checked and deleted: nothing is left.
    assert uploaded_objects(clean, created.media.id) == []

    # The client uploads again, correctly this time, and retries.
    await clean.blobs.put(key, jpeg, content_type="image/jpeg", cache_control="private")
    done = await media.complete_upload(clean.media, viewer, created.media.id)
    assert (done.status, done.content_type) == ("PROCESSING", "image/jpeg")
    # Sealed: the upload key is empty, the checked file is under a key no URL targets.
    assert done.original_key is not None
    assert uploaded_objects(clean, created.media.id) == [await sealed_name(clean, done.id)]
    assert await clean.blobs.read_head(done.original_key, len(jpeg) + 1) == jpeg
    again = await media.complete_upload(clean.media, viewer, created.media.id)
    assert again.status == "PROCESSING"
    assert await queued_jobs(clean) == 1


async def test_a_video_declared_upload_must_be_a_video(clean: Resources, owner: UserRecord) -> None:
    jpeg = media_fixtures.jpeg_with_exif()
    created = await media.create_upload(
        clean.media,
        viewer_of(owner),
        filename="v.mp4",
        content_type="video/mp4",
        byte_size=len(jpeg),
    )
    await clean.blobs.put(
        upload_key(created.media.id), jpeg, content_type="video/mp4", cache_control="private"
    )
    with pytest.raises(DomainError) as error:
        await media.complete_upload(clean.media, viewer_of(owner), created.media.id)
    assert codes(error) == [(UserErrorCode.UNSUPPORTED_MEDIA_TYPE, ("mediaId",))]


async def test_only_the_owner_completes_an_upload(clean: Resources, owner: UserRecord) -> None:
    intruder = await make_user(clean.db, "intruder")
    jpeg = media_fixtures.jpeg_with_exif()
    created = await media.create_upload(
        clean.media,
        viewer_of(owner),
        filename="p.jpg",
        content_type="image/jpeg",
        byte_size=len(jpeg),
    )
    await clean.blobs.put(
        upload_key(created.media.id), jpeg, content_type="image/jpeg", cache_control="private"
    )
    with pytest.raises(DomainError) as error:
        await media.complete_upload(clean.media, viewer_of(intruder), created.media.id)
    # Not READY: hidden from others, so as unknown to them as a missing id.
    assert codes(error) == [(UserErrorCode.NOT_FOUND, ("mediaId",))]
    with pytest.raises(DomainError) as error:
        await media.complete_upload(clean.media, viewer_of(intruder), created.media.id + 99)
    assert codes(error) == [(UserErrorCode.NOT_FOUND, ("mediaId",))]
    status = await clean.db.fetchval("SELECT status FROM media WHERE id = $1", created.media.id)
    assert status == "AWAITING_UPLOAD"
    assert await queued_jobs(clean) == 0


async def test_uploads_never_completed_are_purged_with_their_partial_originals(
    clean: Resources, owner: UserRecord
) -> None:
    viewer = viewer_of(owner)
    jpeg = media_fixtures.jpeg_with_exif()

    async def upload(*, hours_ago: int, complete: bool) -> int:
        created = await media.create_upload(
            clean.media, viewer, filename="p.jpg", content_type="image/jpeg", byte_size=len(jpeg)
        )
        media_id = created.media.id
        body = jpeg if complete else jpeg[:100]  # a PUT cut short leaves part of the file
        await clean.blobs.put(
            upload_key(media_id), body, content_type="image/jpeg", cache_control="private"
        )
        if complete:
            await media.complete_upload(clean.media, viewer, media_id)
        await clean.db.execute(
            "UPDATE media SET created_at = now() - make_interval(hours => $2) WHERE id = $1",
            media_id,
            hours_ago,
        )
        return media_id

    abandoned = await upload(hours_ago=25, complete=False)
    recent = await upload(hours_ago=1, complete=False)
    completed = await upload(hours_ago=25, complete=True)

    purged = await media.purge_abandoned_uploads(clean.media, older_than=timedelta(hours=24))

    assert purged == 1
    rows = await clean.db.fetch("SELECT id, status FROM media ORDER BY id")
    assert [(row["id"], row["status"]) for row in rows] == [
        (recent, "AWAITING_UPLOAD"),
        (completed, "PROCESSING"),
    ]
    assert await clean.blobs.stat(upload_key(abandoned)) is None
    assert await clean.blobs.stat(upload_key(recent)) is not None
    # The completed upload was sealed: its original lives on under a key of its own.
    assert uploaded_objects(clean, completed) == [await sealed_name(clean, completed)]
    # Nothing left to do: a second run purges nothing.
    assert await media.purge_abandoned_uploads(clean.media, older_than=timedelta(hours=24)) == 0
