"""Probe an uploaded MP4/QuickTime file with PyAV.

:func:`probe_video` reads the file at the given path and nothing else: duration, display size,
the owner-only capture metadata of its container tags (:mod:`media.video_metadata`) and a
poster frame. The poster is returned as a full-size, upright, metadata-free JPEG meant to go
through :func:`media.images.process_image` like any photo, so a video's thumbnails and
blurhash are made exactly like a photo's.

What is published of a video is transcoded by :mod:`media.video_renditions` (fresh streams,
no tags): never the upload's bytes, which hold its position, device and capture time.

Untrusted input: the container must sniff as MP4 or QuickTime and is opened with FFmpeg's
``mov`` demuxer only (never format probing, which would let playlists or concat files make
FFmpeg open other files or URLs); size and duration limits are checked from the headers before
anything is decoded, and at most :data:`_MAX_PACKETS_FOR_POSTER` packets are decoded while
looking for the first picture.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

import av
import av.error
import pyvips
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from media import sniff, video_header
from media.images import PhotoMetadata, RejectedMediaError, VipsImage
from media.video_metadata import read_video_metadata

DEFAULT_MAX_PIXELS: Final = 7680 * 4320
"""8K UHD: anything larger is not a phone or camera video."""
DEFAULT_MAX_DURATION_SECONDS: Final = 15 * 60.0
DEFAULT_MAX_FRAME_RATE: Final = 240.0
POSTER_JPEG_QUALITY: Final = 90
# The first picture normally arrives within a few packets; a file that decodes nothing in
# this many is broken or hostile, and we stop instead of decoding it to the end.
_MAX_PACKETS_FOR_POSTER: Final = 600
# FFmpeg's demuxer for the ISO/QuickTime family (mp4, mov, m4v, 3gp, ...).
_DEMUXER: Final = "mov"
# Counter-clockwise display rotation -> libvips' clockwise rotation that makes the frame upright.
_UPRIGHT: Final = {90: "d270", 180: "d180", 270: "d90"}


@dataclass(frozen=True)
class VideoInfo:
    """Duration, display size (rotation applied), an upright poster JPEG (no metadata), the
    sniffed container type and the owner-only capture metadata of the container's tags."""

    duration_seconds: float
    width: int
    height: int
    poster_jpeg: bytes
    content_type: str
    metadata: PhotoMetadata


def probe_video(
    path: str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_duration_seconds: float = DEFAULT_MAX_DURATION_SECONDS,
    max_frame_rate: float = DEFAULT_MAX_FRAME_RATE,
) -> VideoInfo:
    """Read a video's duration, display size and first decodable frame.

    Width and height are what a player shows: swapped when the display matrix rotates by
    90 or 270 degrees. Raises :class:`RejectedMediaError` when the file is not MP4/QuickTime,
    has no video stream, is corrupt, has no decodable frame, declares no duration or an
    empty video track, or exceeds a limit (pixels: checked on the sample descriptions of the
    container's header before FFmpeg opens the file; duration, frame rate). Reads the file;
    writes nothing.
    """
    content_type = _require_iso_container(path)
    for width, height in video_header.declared_picture_sizes(path):
        if width * height > max_pixels:
            raise RejectedMediaError(f"video is {width * height} pixels; the limit is {max_pixels}")
    try:
        with av.open(os.fspath(path), mode="r", format=_DEMUXER) as container:
            return _probe_container(
                container, content_type, max_pixels, max_duration_seconds, max_frame_rate
            )
    except av.error.FFmpegError as error:
        raise RejectedMediaError(f"video is corrupt or unsupported: {error}") from error
    except pyvips.Error as error:
        raise RejectedMediaError("video poster frame could not be encoded") from error


def _require_iso_container(path: str | os.PathLike[str]) -> str:
    """The sniffed content type of an MP4 or QuickTime file; RejectedMediaError otherwise."""
    with Path(path).open("rb") as file:
        head = file.read(sniff.SNIFF_BYTES)
    content_type = sniff.sniff_content_type(head)
    if content_type not in sniff.VIDEO_CONTENT_TYPES:
        raise RejectedMediaError("not a supported video format (accepted: MP4, QuickTime)")
    return content_type


def _probe_container(
    container: InputContainer,
    content_type: str,
    max_pixels: int,
    max_duration_seconds: float,
    max_frame_rate: float,
) -> VideoInfo:
    if not container.streams.video:
        raise RejectedMediaError("file has no video stream")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width <= 0 or height <= 0:
        raise RejectedMediaError("video has no frame size")
    if width * height > max_pixels:
        raise RejectedMediaError(f"video is {width * height} pixels; the limit is {max_pixels}")
    if stream.frames == 0 and stream.duration is not None and stream.duration <= 0:
        raise RejectedMediaError("video track is empty")
    duration = _duration_seconds(container, stream)
    if not duration > 0:
        raise RejectedMediaError("video declares no duration")
    if duration > max_duration_seconds:
        raise RejectedMediaError(
            f"video is {duration:.1f} seconds long; the limit is {max_duration_seconds:g}"
        )
    rate = stream.average_rate
    if rate is not None and float(rate) > max_frame_rate:
        raise RejectedMediaError(
            f"video is {float(rate):.0f} frames per second; the limit is {max_frame_rate:g}"
        )
    frame = _first_frame(container, stream)
    rotation = _quarter_turns(frame.rotation)
    poster = _upright_poster(frame, rotation)
    display_width, display_height = (height, width) if rotation in (90, 270) else (width, height)
    metadata = read_video_metadata(container.metadata)
    return VideoInfo(duration, display_width, display_height, poster, content_type, metadata)


def _duration_seconds(container: InputContainer, stream: VideoStream) -> float:
    """Stream duration when the header has one, else the container's; 0.0 if neither."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * Fraction(stream.time_base))
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _first_frame(container: InputContainer, stream: VideoStream) -> VideoFrame:
    """Decode packets until the first picture; give up after a bounded number of packets."""
    for count, packet in enumerate(container.demux(stream)):
        if count >= _MAX_PACKETS_FOR_POSTER:
            break
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            continue  # a damaged packet before the first good keyframe is survivable
        for frame in frames:
            if isinstance(frame, VideoFrame):
                return frame
    raise RejectedMediaError("video has no decodable frame")


def _quarter_turns(rotation: float) -> int:
    """Normalise FFmpeg's counter-clockwise display rotation to 0, 90, 180 or 270.

    Odd angles (not a multiple of 90) are rounded to the nearest quarter turn; flips in the
    display matrix are ignored (no phone writes them).
    """
    return (round(rotation / 90) * 90) % 360


def _upright_poster(frame: VideoFrame, rotation: int) -> bytes:
    """Convert a decoded frame to an upright, metadata-free JPEG."""
    rgb = frame.reformat(format="rgb24")
    plane = rgb.planes[0]
    row_bytes = rgb.width * 3
    data = bytes(plane)
    if plane.line_size != row_bytes:
        # Drop the row padding FFmpeg adds for SIMD alignment.
        data = b"".join(
            data[row * plane.line_size : row * plane.line_size + row_bytes]
            for row in range(rgb.height)
        )
    image: VipsImage = pyvips.Image.new_from_memory(data, rgb.width, rgb.height, 3, "uchar")
    image = image.copy(interpretation="srgb")
    if rotation in _UPRIGHT:
        image = image.rot(_UPRIGHT[rotation])
    return image.jpegsave_buffer(
        Q=POSTER_JPEG_QUALITY, interlace=False, optimize_coding=True, keep=pyvips.ForeignKeep.NONE
    )
