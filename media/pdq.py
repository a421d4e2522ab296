"""PDQ perceptual hashes of pictures (Meta's open hash for sharing known-bad images).

A PDQ hash is 256 bits; two pictures that look alike (resized, recompressed, lightly edited)
have hashes a small Hamming distance apart. The quality (0-100) says how much structure the
picture had: flat or near-uniform pictures hash to low quality values, and their hashes match
too much to be trusted (docs/moderation.md, "Known-bad images").

Pictures are shrunk to at most :data:`HASH_INPUT_SIZE` pixels a side before hashing (the hash
reduces to 64x64 itself; the shrink keeps its cost flat whatever the input). The hashing is
:mod:`pdqhash` (MIT bindings of Meta's BSD-licensed C++). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pdqhash  # type: ignore[import-untyped]
import pyvips

from media.images import RejectedMediaError

HASH_BITS: Final = 256
HASH_BYTES: Final = HASH_BITS // 8
HASH_INPUT_SIZE: Final = 512


@dataclass(frozen=True, slots=True)
class PdqHash:
    """A 256-bit PDQ hash (big-endian: the first byte holds bits 255..248 of the hex form)
    and the quality of the picture it was computed from."""

    value: bytes
    quality: int

    def __post_init__(self) -> None:
        if len(self.value) != HASH_BYTES:
            raise ValueError(f"a PDQ hash has {HASH_BYTES} bytes, not {len(self.value)}")

    @property
    def hex(self) -> str:
        return self.value.hex()


def parse_hex(text: str) -> bytes:
    """The 32 bytes of a PDQ hash written as 64 hex digits (surrounding space ignored);
    ValueError otherwise."""
    cleaned = text.strip().lower()
    if len(cleaned) != HASH_BYTES * 2:
        raise ValueError("a PDQ hash is 64 hexadecimal digits")
    return bytes.fromhex(cleaned)


def hamming_distance(first: bytes, second: bytes) -> int:
    """How many of the 256 bits differ."""
    return (int.from_bytes(first, "big") ^ int.from_bytes(second, "big")).bit_count()


def hash_rgb(pixels: npt.NDArray[np.uint8]) -> PdqHash:
    """The PDQ hash of an RGB picture given as a height x width x 3 array of bytes."""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError("expected a height x width x 3 array of uint8")
    bits, quality = pdqhash.compute(np.ascontiguousarray(pixels))
    # pdqhash answers bit i of the hash at index i; the hex form (and our bytes) put bit 255
    # first, as Meta's tools and hash exchanges write it.
    packed = np.packbits(np.asarray(bits, dtype=np.uint8)[::-1]).tobytes()
    return PdqHash(packed, int(quality))


def hash_encoded(data: bytes) -> PdqHash:
    """The PDQ hash of an encoded picture (any format libvips reads: JPEG, PNG, WebP, ...),
    shrunk first. Raises RejectedMediaError when it cannot be decoded."""
    try:
        image = pyvips.Image.thumbnail_buffer(
            data, HASH_INPUT_SIZE, height=HASH_INPUT_SIZE, size="down"
        )
        image = image.colourspace("srgb")
        if image.hasalpha():
            image = image.flatten(background=[255.0, 255.0, 255.0])
        image = image.cast("uchar")
        pixels = np.ndarray(
            buffer=image.write_to_memory(),
            dtype=np.uint8,
            shape=(image.height, image.width, image.bands),
        )
    except pyvips.Error as error:
        raise RejectedMediaError("image data could not be decoded for hashing") from error
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return hash_rgb(pixels[:, :, :3])
