"""Playback check: a video's published ladder plays from the blob store, over HTTP, on both
backends (the local backend behind its routes, S3 on the moto server).

Each fixture clip (landscape with sound, a phone's portrait rotation, silent, variable frame
rate, 10-bit BT.2020) is transcoded once per session and published as the worker publishes it
(services.media_processing.publish_ladder). Then, as a player would: every MP4 rendition is
fetched from its public URL and decoded end to end; the HLS master playlist is fetched and
parsed, and each media playlist's init part and byte-range segments are fetched (HTTP Range
requests, as hls.js and Safari make them), joined and decoded end to end. Each must have the
expected picture size, frame count, duration and 8-bit H.264 High pictures, and sound only
when the upload had some.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from urllib.parse import urljoin

import av
import httpx
import pytest
from PIL import Image

from media.video import probe_video
from media.video_renditions import Ladder, transcode_ladder
from services.media_processing import publish_ladder
from tests import media_fixtures
from tests.storage.conftest import BlobBackend


@dataclass(frozen=True)
class Case:
    data: bytes
    sizes: list[tuple[int, int]]
    """Expected renditions, largest first."""
    rate: Fraction
    has_audio: bool


CASES: dict[str, Callable[[], Case]] = {
    "landscape": lambda: Case(
        media_fixtures.clip(640, 480), [(640, 480), (480, 360)], Fraction(24), True
    ),
    "portrait-phone": lambda: Case(
        media_fixtures.clip(640, 360, rotation=-90), [(360, 640)], Fraction(24), True
    ),
    "silent": lambda: Case(
        media_fixtures.clip(480, 360, audio=False), [(480, 360)], Fraction(24), False
    ),
    "variable-rate": lambda: Case(
        media_fixtures.clip(480, 360, variable_rate=True),
        [(480, 360)],
        Fraction(24000, 1001),
        True,
    ),
    "10-bit-hdr": lambda: Case(
        media_fixtures.clip(480, 360, ten_bit=True), [(480, 360)], Fraction(24), True
    ),
}
DURATION = 2.0


@pytest.fixture(scope="session")
def ladders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Case, Ladder]]:
    """Each case's ladder, transcoded once for both backends."""
    made = {}
    for name, make in CASES.items():
        case = make()
        folder = tmp_path_factory.mktemp(f"ladder-{name}")
        upload = folder / "upload.mp4"
        upload.write_bytes(case.data)
        info = probe_video(upload)
        ladder = transcode_ladder(upload, folder / "out", duration_seconds=info.duration_seconds)
        made[name] = (case, ladder)
    return made


@dataclass(frozen=True)
class Played:
    width: int
    height: int
    frames: int
    seconds: float
    pix_fmt: str
    profile: str | None
    rotation: float
    streams: list[str]


def play(data: bytes) -> Played:
    """Decode every video frame (and audio packet) of an MP4 held in memory."""
    with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
        streams: list[str] = [stream.type for stream in container.streams]
        video = container.streams.video[0]
        frames = list(container.decode(video=0))
        if container.streams.audio:
            container.seek(0)
            audio = list(container.decode(audio=0))
            assert audio, "no audio decoded"
        last = frames[-1]
        assert last.time is not None
        return Played(
            width=frames[0].width,
            height=frames[0].height,
            frames=len(frames),
            seconds=last.time + float(1 / (video.average_rate or 1)),
            pix_fmt=str(frames[0].format.name),
            profile=video.codec_context.profile,
            rotation=frames[0].rotation,
            streams=streams,
        )


async def fetch(
    http: httpx.AsyncClient, url: str, byte_range: tuple[int, int] | None = None
) -> bytes:
    headers = {}
    if byte_range is not None:
        length, offset = byte_range
        headers["Range"] = f"bytes={offset}-{offset + length - 1}"
    response = await http.get(url, headers=headers)
    assert response.status_code == (206 if byte_range else 200), (url, response.status_code)
    return response.content


_BYTERANGE = re.compile(r"(\d+)@(\d+)")


def byte_range(text: str) -> tuple[int, int]:
    match = _BYTERANGE.fullmatch(text)
    assert match is not None, text
    return int(match[1]), int(match[2])


async def play_hls(http: httpx.AsyncClient, master_url: str) -> list[tuple[str, Played]]:
    """Parse the master playlist, then play each variant stream from its byte ranges."""
    master = (await fetch(http, master_url)).decode("ascii")
    lines = master.splitlines()
    assert lines[0] == "#EXTM3U"
    played = []
    for index, line in enumerate(lines):
        if not line.startswith("#EXT-X-STREAM-INF:"):
            continue
        resolution = re.search(r"RESOLUTION=(\d+x\d+)", line)
        assert resolution is not None
        assert 'CODECS="avc1.64' in line
        assert "BANDWIDTH=" in line
        playlist_url = urljoin(master_url, lines[index + 1])
        media = (await fetch(http, playlist_url)).decode("ascii").splitlines()
        assert media[0] == "#EXTM3U"
        assert media[-1] == "#EXT-X-ENDLIST"
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in media
        (init_line,) = [item for item in media if item.startswith("#EXT-X-MAP:")]
        init = re.fullmatch(r'#EXT-X-MAP:URI="([^"]+)",BYTERANGE="([^"]+)"', init_line)
        assert init is not None
        body = await fetch(http, urljoin(playlist_url, init[1]), byte_range(init[2]))
        total = 0.0
        target = int(next(i for i in media if i.startswith("#EXT-X-TARGETDURATION:")).split(":")[1])
        for at, item in enumerate(media):
            if item.startswith("#EXTINF:"):
                duration = float(item.removeprefix("#EXTINF:").rstrip(","))
                assert 0 < duration <= target + 0.5
                total += duration
                range_line, uri = media[at + 1], media[at + 2]
                assert range_line.startswith("#EXT-X-BYTERANGE:")
                segment = byte_range(range_line.removeprefix("#EXT-X-BYTERANGE:"))
                body += await fetch(http, urljoin(playlist_url, uri), segment)
        assert total == pytest.approx(DURATION, abs=0.1)
        played.append((resolution[1], play(body)))
    return played


@pytest.mark.parametrize("name", list(CASES))
async def test_every_rendition_and_the_hls_ladder_play_from_the_store(
    blob_backend: BlobBackend, ladders: dict[str, tuple[Case, Ladder]], name: str
) -> None:
    case, ladder = ladders[name]
    folder = f"media/playback/{secrets.token_hex(8)}"
    published = await publish_ladder(blob_backend.store, folder, ladder)
    http, store = blob_backend.http, blob_backend.store
    expected_frames = round(DURATION * case.rate)
    streams = ["video", "audio"] if case.has_audio else ["video"]

    assert [(r.width, r.height) for r in published.renditions] == case.sizes
    for rendition, (width, height) in zip(published.renditions, case.sizes, strict=True):
        played = play(await fetch(http, store.public_url(rendition.key)))
        assert (played.width, played.height) == (width, height)
        assert (played.pix_fmt, played.profile, played.rotation) == ("yuv420p", "High", 0)
        assert played.frames == expected_frames
        assert played.seconds == pytest.approx(DURATION, abs=0.05)
        assert played.streams == streams
        assert rendition.bitrate > 0

    assert published.hls_keys[0] == f"{folder}/hls/master.m3u8"
    hls = await play_hls(http, store.public_url(published.hls_keys[0]))
    assert [resolution for resolution, _ in hls] == [f"{w}x{h}" for w, h in case.sizes]
    for (_, played), (width, height) in zip(hls, case.sizes, strict=True):
        assert (played.width, played.height, played.frames) == (width, height, expected_frames)
        assert played.pix_fmt == "yuv420p"
        assert played.streams == streams


def test_the_portrait_clip_is_turned_upright_in_pixels(
    ladders: dict[str, tuple[Case, Ladder]], tmp_path: Path
) -> None:
    """The display matrix is applied to the pictures: the quadrant colours of the first frame
    are where a player showing the upload upright would put them (blue top-left, red
    top-right, white bottom-left, green bottom-right for a -90 rotation)."""
    _, ladder = ladders["portrait-phone"]
    with av.open(str(ladder.renditions[0].path)) as container:
        image: Image.Image = next(container.decode(video=0)).to_image()  # type: ignore[no-untyped-call]
    width, height = image.size
    found = []
    for x, y in ((0.25, 0.4), (0.75, 0.4), (0.25, 0.75), (0.75, 0.75)):
        red, green, blue = image.getpixel((int(width * x), int(height * y)))  # type: ignore[misc]
        found.append(
            min(
                (
                    media_fixtures.RED,
                    media_fixtures.GREEN,
                    media_fixtures.BLUE,
                    media_fixtures.WHITE,
                ),
                key=lambda c: (c[0] - red) ** 2 + (c[1] - green) ** 2 + (c[2] - blue) ** 2,
            )
        )
    assert found == [
        media_fixtures.BLUE,
        media_fixtures.RED,
        media_fixtures.WHITE,
        media_fixtures.GREEN,
    ]
