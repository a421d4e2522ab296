"""Sample a few keyframes spread through a video, as small upright JPEGs, for the moderation
checks (PDQ hashes and the classifier: services/media_processing.py).

The file has been probed (media.video.probe_video: container sniffed, limits checked) before
this runs; it is opened with the same ``mov`` demuxer only. For each of `count` instants spread
evenly through the video, it seeks to the keyframe at or before it and decodes that one
picture (at most :data:`_MAX_PACKETS_PER_SAMPLE` packets), so the cost is a few keyframe
decodes whatever the video's length. Pure: reads the file, writes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

import av
import av.error
import pyvips
from av.video.frame import VideoFrame

from media.images import RejectedMediaError

SAMPLE_SIZE: Final = 512
"""The longest side of a sampled frame (PDQ reduces to 64x64; the classifier to 224x224)."""
_MAX_PACKETS_PER_SAMPLE: Final = 120
_DEMUXER: Final = "mov"
_UPRIGHT: Final = {90: "d270", 180: "d180", 270: "d90"}


@dataclass(frozen=True, slots=True)
class Keyframe:
    at_seconds: float
    jpeg: bytes


def sample_keyframes(
    path: str | os.PathLike[str], *, duration_seconds: float, count: int
) -> list[Keyframe]:
    """Up to `count` keyframes at (i + 0.5) / count of the duration, in order; instants whose
    keyframe was already taken are skipped. Raises RejectedMediaError for a corrupt file."""
    instants = [duration_seconds * (index + 0.5) / count for index in range(count)]
    taken: list[Keyframe] = []
    seen_pts: set[int] = set()
    try:
        with av.open(os.fspath(path), mode="r", format=_DEMUXER) as container:
            stream = container.streams.video[0]
            time_base = stream.time_base
            if time_base is None:
                return []
            for instant in instants:
                container.seek(int(instant / time_base), stream=stream, backward=True)
                frame = _next_frame(container, stream)
                if frame is None or frame.pts in seen_pts:
                    continue
                seen_pts.add(frame.pts if frame.pts is not None else -1)
                at = float(frame.pts * time_base) if frame.pts is not None else instant
                taken.append(Keyframe(at, _small_upright_jpeg(frame)))
    except av.error.FFmpegError as error:
        raise RejectedMediaError(f"video is corrupt or unsupported: {error}") from error
    return taken


def _next_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> VideoFrame | None:
    for count, packet in enumerate(container.demux(stream)):
        if count >= _MAX_PACKETS_PER_SAMPLE:
            return None
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            continue
        for frame in frames:
            if isinstance(frame, VideoFrame):
                return frame
    return None


def _small_upright_jpeg(frame: VideoFrame) -> bytes:
    scale = min(1.0, SAMPLE_SIZE / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
    image = pyvips.Image.new_from_memory(rgb.tobytes(), width, height, 3, "uchar")
    rotation = (round(frame.rotation / 90) * 90) % 360
    if rotation in _UPRIGHT:
        image = image.rot(_UPRIGHT[rotation])
    encoded: bytes = image.copy(interpretation="srgb").jpegsave_buffer(
        Q=90, keep=pyvips.ForeignKeep.NONE
    )
    return encoded
