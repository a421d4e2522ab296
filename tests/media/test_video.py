"""media.video: duration, display size with rotation, poster frame, hostile input; the
owner-only capture metadata of a phone's container tags. (What is published of a video, its
renditions, is checked for metadata by tests/workers/test_process_media.py.)"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import av
import pytest
from PIL import Image

from media.exif import PhotoMetadata
from media.images import RejectedMediaError, process_image
from media.video import VideoInfo, probe_video
from media.video_metadata import parse_iso6709, read_video_metadata
from tests import media_fixtures as fixtures

Colour = tuple[int, int, int]
R, G, B, W = fixtures.RED, fixtures.GREEN, fixtures.BLUE, fixtures.WHITE


def write(tmp_path: Path, data: bytes, name: str = "clip.mp4") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def corners(jpeg: bytes) -> tuple[Colour, ...]:
    """Nearest fixture colour at the centre of each quadrant: TL, TR, BL, BR."""
    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    found = []
    for x_fraction, y_fraction in ((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)):
        xy = (int(image.width * x_fraction), int(image.height * y_fraction))
        red, green, blue = image.getpixel(xy)  # type: ignore[misc]
        found.append(
            min(
                (R, G, B, W),
                key=lambda c: (c[0] - red) ** 2 + (c[1] - green) ** 2 + (c[2] - blue) ** 2,
            )
        )
    return tuple(found)


def test_plain_mp4(tmp_path: Path) -> None:
    info = probe_video(write(tmp_path, fixtures.mp4(320, 240, frames=24, rate=12)))

    assert (info.duration_seconds, info.width, info.height) == (2.0, 320, 240)
    poster = Image.open(io.BytesIO(info.poster_jpeg))
    assert (poster.format, poster.size) == ("JPEG", (320, 240))
    assert corners(info.poster_jpeg) == (R, G, B, W)


# Display rotation (counter-clockwise degrees, as FFmpeg reports it) -> display size and the
# poster's quadrant colours. -90 is what a phone held upright writes.
@pytest.mark.parametrize(
    ("rotation", "size", "expected_corners"),
    [
        (-90, (240, 320), (B, R, W, G)),
        (90, (240, 320), (G, W, R, B)),
        (180, (320, 240), (W, B, G, R)),
    ],
)
def test_rotation_metadata_gives_display_size_and_upright_poster(
    tmp_path: Path, rotation: int, size: tuple[int, int], expected_corners: tuple[Colour, ...]
) -> None:
    info = probe_video(write(tmp_path, fixtures.mp4(320, 240, rotation=rotation)))

    assert (info.width, info.height) == size
    assert Image.open(io.BytesIO(info.poster_jpeg)).size == size
    assert corners(info.poster_jpeg) == expected_corners


def test_poster_goes_through_the_image_pipeline(tmp_path: Path) -> None:
    info = probe_video(write(tmp_path, fixtures.mp4(640, 480, rotation=-90)))
    poster = process_image(info.poster_jpeg)

    assert (poster.width, poster.height) == (480, 640)
    assert [(v.name, v.width, v.height) for v in poster.variants] == [
        ("thumb320", 320, 320),
        ("thumb160", 160, 160),
        ("480", 480, 640),
    ]


def test_poster_carries_no_metadata(tmp_path: Path) -> None:
    info = probe_video(write(tmp_path, fixtures.mp4()))

    assert not {"exif", "icc_profile", "xmp"} & set(Image.open(io.BytesIO(info.poster_jpeg)).info)


def test_quicktime_brand_is_accepted(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mov") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        frame = av.VideoFrame(64, 48, "yuv420p")
        for index in range(5):
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    info = probe_video(write(tmp_path, buffer.getvalue(), "clip.mov"))

    assert (info.duration_seconds, info.width, info.height) == (0.5, 64, 48)


def test_duration_limit(tmp_path: Path) -> None:
    with pytest.raises(RejectedMediaError) as caught:
        probe_video(write(tmp_path, fixtures.mp4(frames=24, rate=12)), max_duration_seconds=1.5)

    assert caught.value.reason == "video is 2.0 seconds long; the limit is 1.5"


def test_pixel_limit(tmp_path: Path) -> None:
    with pytest.raises(RejectedMediaError) as caught:
        probe_video(write(tmp_path, fixtures.mp4(320, 240)), max_pixels=320 * 239)

    assert caught.value.reason == "video is 76800 pixels; the limit is 76480"


def test_truncated_video_is_rejected(tmp_path: Path) -> None:
    data = fixtures.mp4()
    with pytest.raises(RejectedMediaError) as caught:
        probe_video(write(tmp_path, data[: len(data) // 2]))

    assert caught.value.reason.startswith("video is corrupt or unsupported: ")


def test_ftyp_followed_by_garbage_is_rejected(tmp_path: Path) -> None:
    data = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 8
    with pytest.raises(RejectedMediaError) as caught:
        probe_video(write(tmp_path, data))

    assert caught.value.reason.startswith("video is corrupt or unsupported: ")


def test_audio_only_mp4_is_rejected(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=8000)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = 8000
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    with pytest.raises(RejectedMediaError) as caught:
        probe_video(write(tmp_path, buffer.getvalue()))

    assert caught.value.reason == "file has no video stream"


@pytest.mark.parametrize(
    "data",
    [
        fixtures.jpeg_with_exif(64, 48),
        fixtures.SVG_DISGUISED_AS_JPEG,
        fixtures.EMPTY,
        b"#EXTM3U\n#EXT-X-VERSION:3\nhttp://169.254.169.254/latest\n",  # HLS playlist
        b"ffconcat version 1.0\nfile /etc/passwd\n",
        b"\x1aE\xdf\xa3" + b"\x00" * 60,  # Matroska/WebM
    ],
    ids=["jpeg", "svg", "empty", "hls", "concat", "matroska"],
)
def test_non_iso_containers_never_reach_ffmpeg(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(RejectedMediaError) as caught:
        probe_video(write(tmp_path, data))

    assert caught.value.reason == "not a supported video format (accepted: MP4, QuickTime)"


def test_video_info_is_a_plain_value() -> None:
    nothing = PhotoMetadata(None, None, None, None, None)
    assert VideoInfo(1.0, 2, 3, b"x", "video/mp4", nothing) == VideoInfo(
        1.0, 2, 3, b"x", "video/mp4", nothing
    )


# -- capture metadata (owner only) and the published copy (none at all) ------------------------

PHONE_METADATA = PhotoMetadata(
    camera_make=fixtures.PHONE_MAKE,
    camera_model=fixtures.PHONE_MODEL,
    taken_at=datetime(2023, 7, 14, 18, 30, 5, tzinfo=timezone(timedelta(hours=2))),
    latitude=fixtures.PHONE_LATITUDE,
    longitude=fixtures.PHONE_LONGITUDE,
)


@pytest.mark.parametrize("container_format", ["mov", "mp4"])
def test_a_phone_video_gives_its_owner_camera_time_and_place(
    tmp_path: Path, container_format: str
) -> None:
    info = probe_video(write(tmp_path, fixtures.phone_video(container_format)))

    assert info.metadata == PHONE_METADATA
    assert info.content_type == {"mov": "video/quicktime", "mp4": "video/mp4"}[container_format]


def test_classic_user_data_tags_are_read_when_the_quicktime_keys_are_absent() -> None:
    tags = {"location": "-33.8568+151.2153/", "make": "GoPro", "model": "HERO12 Black"}
    tags["creation_time"] = "2024-01-02T03:04:05.000000Z"

    assert read_video_metadata(tags) == PhotoMetadata(
        "GoPro",
        "HERO12 Black",
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        -33.8568,
        151.2153,
    )
    assert read_video_metadata({"make": "\x00\x01", "creation_time": "yesterday"}) == (
        PhotoMetadata(None, None, None, None, None)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+48.858370+002.294481+035.000/", (48.85837, 2.294481)),
        ("-33.8568+151.2153/", (-33.8568, 151.2153)),
        ("+4851.5022-00217.6689/", (48.85837, -2.294481666666667)),  # DDMM.MM
        ("+485130.13+0021740.13/", (48.85837, 2.2944805555555554)),  # DDMMSS.SS
        ("+48.8584+002.2945CRSWGS_84/", (48.8584, 2.2945)),
        ("+00.0000+000.0000/", None),  # no fix
        ("+91.0000+000.0000/", None),
        ("+48.8584+181.0000/", None),
        ("+4861.0000+00217.0000/", None),  # 61 minutes
        ("+48.8584/", None),
        ("48.8584 2.2945", None),
        ("", None),
        (None, None),
        ("+" + "9" * 500, None),
    ],
)
def test_iso6709_points(text: str | None, expected: tuple[float, float] | None) -> None:
    point = parse_iso6709(text)
    if expected is None:
        assert point is None
    else:
        assert point == pytest.approx(expected)
