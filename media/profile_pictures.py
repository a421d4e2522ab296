"""Profile pictures: square centre crops of an already processed photo (one of its published
JPEG variants, so already auto-rotated, sRGB and without metadata), at PROFILE_PICTURE_SIZES.

Pure bytes in, bytes out; the crops are progressive JPEGs with every metadata block stripped,
like every other published file. Never upscaled: a photo whose shorter side is below a size
gets a square of its shorter side for that size.
"""

from __future__ import annotations

from typing import Final

import pyvips

from media.images import JPEG_QUALITY, RejectedMediaError, Variant

PROFILE_PICTURE_SIZES: Final = (320, 150, 64)


def profile_picture_crops(jpeg: bytes) -> list[Variant]:
    """One Variant per size, named by its nominal size ("320", "150", "64"), largest first.

    Raises RejectedMediaError when the bytes are not a JPEG libvips can decode."""
    if not jpeg.startswith(b"\xff\xd8\xff"):
        raise RejectedMediaError("not a JPEG")
    try:
        image = pyvips.Image.jpegload_buffer(jpeg)
        side = min(image.width, image.height)
        square = image.crop((image.width - side) // 2, (image.height - side) // 2, side, side)
        square = square.copy_memory()
        crops = []
        for size in PROFILE_PICTURE_SIZES:
            edge = min(size, side)
            # libvips makes round(side * scale) pixels: exactly `edge`.
            scaled = square if edge == side else square.resize(edge / side, vscale=edge / side)
            data = scaled.jpegsave_buffer(
                Q=JPEG_QUALITY, interlace=True, keep=pyvips.ForeignKeep.NONE
            )
            crops.append(Variant(str(size), scaled.width, scaled.height, "image/jpeg", data))
    except pyvips.Error as error:
        raise RejectedMediaError("the photo could not be decoded") from error
    return crops
