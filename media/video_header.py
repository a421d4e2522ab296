"""Read the picture sizes an MP4/QuickTime file declares, from its boxes, without FFmpeg.

FFmpeg's ``avformat_find_stream_info`` (run when PyAV opens a file) decodes the first frames,
so a header declaring a 60,000 x 60,000 picture would be allocated before any check in Python
could see it. :func:`declared_picture_sizes` walks ``moov/trak/mdia/minf/stbl/stsd`` and
returns the width and height of every visual sample entry, so the pixel limit is applied to
the header alone. Boxes are attacker-controlled: sizes are bounded, depth is bounded, and a
malformed box ends the walk (FFmpeg then refuses the file on its own).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

__all__ = ["declared_picture_sizes"]

_CONTAINERS: Final = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
_MAX_MOOV_BYTES: Final = 64 * 1024 * 1024
_MAX_ENTRIES: Final = 64
# A visual sample entry: 6 reserved, 2 data reference index, 16 pre-defined/reserved, then
# width and height (16 bits each).
_VISUAL_SIZE_OFFSET: Final = 24


def declared_picture_sizes(path: str | os.PathLike[str]) -> list[tuple[int, int]]:
    """(width, height) of every visual sample description in the file's movie header; empty
    when there is none or the boxes are malformed. Reads the file; never raises on content."""
    with Path(path).open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        for kind, start, end in _boxes(file, 0, size):
            if kind == b"moov" and end - start <= _MAX_MOOV_BYTES:
                file.seek(start)
                return list(_sizes(file.read(end - start), 0))
    return []


def _boxes(file: BinaryIO, offset: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the top-level boxes of a file."""
    while offset + 8 <= end:
        file.seek(offset)
        header = file.read(16)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header[:8])
        payload = offset + 8
        if size == 1 and len(header) == 16:
            size = struct.unpack(">Q", header[8:])[0]
            payload = offset + 16
        elif size == 0:
            size = end - offset
        if size < payload - offset or offset + size > end:
            return
        yield kind, payload, offset + size
        offset += size


def _children(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, payload) of the boxes in `data`; stops at the first malformed one."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1 and offset + 16 <= len(data):
            size, header = struct.unpack_from(">Q", data, offset + 8)[0], 16
        elif size == 0:
            size = len(data) - offset
        if size < header or offset + size > len(data):
            return
        yield kind, data[offset + header : offset + size]
        offset += size


def _sizes(data: bytes, depth: int) -> Iterator[tuple[int, int]]:
    """Walk the boxes in `data` (the payload of a container box) down to the stsd entries of
    video tracks (a media box whose handler is ``vide``; timecode and sound entries differ)."""
    if depth > 8:
        return
    children = list(_children(data))
    handler = next((payload[8:12] for kind, payload in children if kind == b"hdlr"), None)
    for kind, payload in children:
        if kind == b"minf" and handler not in (None, b"vide"):
            continue
        if kind in _CONTAINERS:
            yield from _sizes(payload, depth + 1)
        elif kind == b"stsd":
            yield from _sample_entry_sizes(payload)


def _sample_entry_sizes(stsd: bytes) -> Iterator[tuple[int, int]]:
    if len(stsd) < 8:
        return
    (count,) = struct.unpack_from(">I", stsd, 4)
    offset = 8
    for _ in range(min(count, _MAX_ENTRIES)):
        if offset + 8 > len(stsd):
            return
        size, _kind = struct.unpack_from(">I4s", stsd, offset)
        if size < 8 or offset + size > len(stsd):
            return
        at = offset + 8 + _VISUAL_SIZE_OFFSET
        if size >= 8 + _VISUAL_SIZE_OFFSET + 4:
            width, height = struct.unpack_from(">HH", stsd, at)
            if width and height:  # audio entries have channel counts and rates here
                yield width, height
        offset += size
