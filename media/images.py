"""Turn an untrusted uploaded image into the JPEG variants we publish: pure bytes in, bytes out.

:func:`process_image` is the whole pipeline. It does no I/O besides reading the given bytes and
keeps nothing between calls. Its steps, in order:

1. Sniff the format from the magic numbers (:mod:`media.sniff`); only JPEG, PNG, WebP,
   GIF, HEIC/HEIF and AVIF go on, each to its own pyvips loader. The generic
   ``new_from_buffer`` is never used, so SVG, PDF and friends never reach any loader.
2. Read the header lazily (``access="sequential"``) and reject images above ``max_pixels``
   before a single pixel is decoded (decompression bombs cost about a millisecond).
3. Decode once, shrinking on load where the format allows it (JPEG DCT scaling, WebP scaled
   decode), to the smallest size the largest variant needs; convert to sRGB (honouring an
   embedded ICC profile), flatten alpha onto white, take the first frame of animations, and
   auto-rotate by EXIF orientation. HEVC-coded HEIC/HEIF is decoded by pillow-heif, because
   pyvips-binary ships without an HEVC decoder; AV1-coded files (AVIF) stay in pyvips.
4. Derive every variant and the blurhash from that one in-memory image, and encode progressive
   JPEGs with all metadata (EXIF, XMP, IPTC, ICC) stripped.

Variant set (the choice this module makes about "never upscale"):

* ``thumb320`` and ``thumb160``: square centre crops, 320x320 and 160x160. An image whose
  shorter side is below the nominal size gets a square of its shorter side instead.
* ``1080``, ``750``, ``640``, ``480``: full frame at that width, aspect ratio kept. Only widths
  not larger than the image are produced; an image narrower than 480 px gets exactly one of
  them, ``480``, at its own size. So every image has ``thumb320``, ``thumb160`` and ``480``.

Module import side effects (process wide, deliberately): the libvips operation cache is
disabled, because a worker sees every input once and the cache would only pin memory, and
libvips' "untrusted" loaders are blocked as a second line of defence behind the sniffing.

Concurrency: one call keeps the cores busy by itself (libvips' thread pool, plus a short-lived
thread per core encoding variants in parallel) and releases the GIL while libvips works, so
async callers should run it in a worker thread or process, and running more calls at once than
there are cores gains nothing. Memory: one 12 MP JPEG peaks at about 35 MB above the imports;
HEIC costs more, as pillow-heif decodes it at full size (3 bytes per pixel, up to
``max_pixels``). Run workers with ``MALLOC_ARENA_MAX=2``: with glibc's default, the decoders'
threads spread allocations over many arenas and RSS creeps up to ~270 MB over repeated HEIC
calls instead of staying at ~130 MB (measured with ``python -m bench.media``).

EXIF reading lives in :mod:`media.exif` and the BlurHash encoder in :mod:`media.blurhash`;
``PhotoMetadata``, ``read_photo_metadata`` and ``encode_blurhash`` are re-exported here.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

import pillow_heif
import pyvips

from media import sniff
from media.blurhash import encode_blurhash
from media.exif import PhotoMetadata, read_photo_metadata

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = [
    "BLURHASH_COMPONENTS",
    "JPEG_QUALITY",
    "THUMBNAIL_SIZES",
    "WIDTH_VARIANTS",
    "PhotoMetadata",
    "ProcessedImage",
    "RejectedMediaError",
    "Variant",
    "VipsImage",
    "encode_blurhash",
    "process_image",
    "read_photo_metadata",
]

pyvips.cache_set_max(0)
pyvips.block_untrusted_set(True)

JPEG_QUALITY: Final = 82
THUMBNAIL_SIZES: Final = (("thumb320", 320), ("thumb160", 160))
WIDTH_VARIANTS: Final = (1080, 750, 640, 480)
BLURHASH_COMPONENTS: Final = (4, 3)  # (x, y)
# The blurhash is computed from a copy this wide; more pixels do not change a 4x3 hash.
_BLURHASH_WIDTH: Final = 32
# Upper bound for the decoded working image: extreme panoramas would otherwise keep their full
# length in memory to give their 320 px side to the thumbnails.
_MAX_WORKING_PIXELS: Final = 10_000_000
_WHITE: Final = [255.0, 255.0, 255.0]
_HEIF_FAMILY: Final = frozenset({sniff.HEIC, sniff.HEIF, sniff.AVIF})
_PILLOW_HEIF_BANDS: Final = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
# Variants are encoded concurrently, one thread per core this process may use.
_ENCODER_THREADS: Final = max(1, len(os.sched_getaffinity(0)))


class VipsImage(Protocol):
    """The slice of ``pyvips.Image`` this package uses, typed (pyvips itself is untyped)."""

    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def bands(self) -> int: ...
    @property
    def format(self) -> str: ...
    def get_typeof(self, name: str) -> int: ...
    def get(self, name: str) -> object: ...
    def set_type(self, gtype: int, name: str, value: object) -> None: ...
    def copy(self, *, interpretation: str = ...) -> VipsImage: ...
    def hasalpha(self) -> bool: ...
    def autorot(self) -> VipsImage: ...
    def rot(self, angle: str) -> VipsImage: ...
    def icc_transform(self, output_profile: str, *, embedded: bool, intent: str) -> VipsImage: ...
    def colourspace(self, space: str) -> VipsImage: ...
    def flatten(self, *, background: list[float]) -> VipsImage: ...
    def cast(self, format: str) -> VipsImage: ...
    def resize(self, scale: float, *, vscale: float) -> VipsImage: ...
    def crop(self, left: int, top: int, width: int, height: int) -> VipsImage: ...
    def copy_memory(self) -> VipsImage: ...
    def write_to_memory(self) -> Buffer: ...
    def jpegsave_buffer(
        self, *, Q: int, interlace: bool, keep: int, optimize_coding: bool = ...
    ) -> bytes: ...


@dataclass(frozen=True)
class Variant:
    """One published rendition: ``data`` is a progressive JPEG without any metadata."""

    name: str
    width: int
    height: int
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ProcessedImage:
    """Display size of the original (after orientation), its blurhash, metadata and variants."""

    width: int
    height: int
    blurhash: str
    metadata: PhotoMetadata
    variants: tuple[Variant, ...]


class RejectedMediaError(Exception):
    """The input is not media we accept; ``reason`` says why in words a user could read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Header:
    """What the loader told us before decoding: stored size and the metadata we need."""

    content_type: str
    width: int
    height: int
    orientation: int
    exif: bytes | None
    icc_profile: bytes | None
    heif_compression: str | None

    @property
    def display_size(self) -> tuple[int, int]:
        """Size after auto-rotation: orientations 5-8 turn the image by 90 degrees."""
        if self.orientation >= 5:
            return self.height, self.width
        return self.width, self.height


def process_image(data: bytes, *, max_pixels: int = 100_000_000) -> ProcessedImage:
    """Validate, decode once and render every variant of an uploaded image.

    Raises :class:`RejectedMediaError` for anything that is not a decodable JPEG, PNG, WebP,
    GIF, HEIC/HEIF or AVIF of at most ``max_pixels`` pixels (checked from the header, before
    decoding). Pure: no I/O, no state kept between calls (see the module docstring for the
    process-wide libvips settings made at import).
    """
    content_type = sniff.sniff_content_type(data[: sniff.SNIFF_BYTES])
    if content_type not in sniff.IMAGE_CONTENT_TYPES:
        raise RejectedMediaError(
            "not a supported image format (accepted: JPEG, PNG, WebP, GIF, HEIC/HEIF, AVIF)"
        )
    try:
        header_image = _load_header(data, content_type)
        header = _read_header(header_image, content_type)
        _check_pixel_count(header.width, header.height, max_pixels)
        working = _decode_working_image(data, header, header_image)
        variants = tuple(_render_variants(working))
        hash_ = _blurhash(working)
    except pyvips.Error as error:
        reason = f"image data is corrupt or truncated: {_summary(error)}"
        raise RejectedMediaError(reason) from error
    display_width, display_height = header.display_size
    return ProcessedImage(
        width=display_width,
        height=display_height,
        blurhash=hash_,
        metadata=read_photo_metadata(header.exif),
        variants=variants,
    )


def _summary(error: Exception) -> str:
    """The most specific line of a libvips error (its messages are several lines long)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


# --- loading -----------------------------------------------------------------------------

# access="sequential" keeps loaders lazy (only the header is parsed until pixels are asked
# for) and lets the decode stream in strips instead of buffering the whole image.
# fail_on="error" turns truncated or corrupt pixel data into an error instead of grey pixels.
_LOAD_OPTIONS: Final = {"access": "sequential", "fail_on": "error"}
_LOADERS: Final[dict[str, Callable[..., VipsImage]]] = {
    sniff.JPEG: pyvips.Image.jpegload_buffer,
    sniff.PNG: pyvips.Image.pngload_buffer,
    sniff.WEBP: pyvips.Image.webpload_buffer,
    sniff.GIF: pyvips.Image.gifload_buffer,
    # libvips parses HEVC HEIF headers fine; only decoding HEVC pixels is missing.
    sniff.HEIC: pyvips.Image.heifload_buffer,
    sniff.HEIF: pyvips.Image.heifload_buffer,
    sniff.AVIF: pyvips.Image.heifload_buffer,
}


def _load_header(data: bytes, content_type: str, **options: object) -> VipsImage:
    """Open ``data`` lazily with the one loader for its sniffed type (GIF/WebP: frame 1)."""
    return _LOADERS[content_type](data, **_LOAD_OPTIONS, **options)


def _read_header(image: VipsImage, content_type: str) -> _Header:
    """Collect size, orientation, EXIF and ICC profile from a not-yet-decoded image."""
    heif_compression = _string_field(image, "heif-compression")
    # libheif applies HEIF's own rotation (irot/imir) itself and libvips drops the EXIF
    # orientation for HEIF, so only the other formats need auto-rotation.
    orientation = 1 if content_type in _HEIF_FAMILY else _orientation(image)
    return _Header(
        content_type=content_type,
        width=image.width,
        height=image.height,
        orientation=orientation,
        exif=_blob_field(image, "exif-data"),
        icc_profile=_blob_field(image, "icc-profile-data"),
        heif_compression=heif_compression,
    )


def _orientation(image: VipsImage) -> int:
    value = image.get("orientation") if image.get_typeof("orientation") else 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _blob_field(image: VipsImage, name: str) -> bytes | None:
    value = image.get(name) if image.get_typeof(name) else None
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else None


def _string_field(image: VipsImage, name: str) -> str | None:
    value = image.get(name) if image.get_typeof(name) else None
    return value if isinstance(value, str) else None


def _check_pixel_count(width: int, height: int, max_pixels: int) -> None:
    pixels = width * height
    if pixels > max_pixels:
        raise RejectedMediaError(f"image is {pixels} pixels; the limit is {max_pixels}")
    if pixels == 0:
        raise RejectedMediaError("image has no pixels")


# --- decoding ----------------------------------------------------------------------------


def _working_scale(header: _Header) -> float:
    """Scale (<= 1) at which the decoded image is just big enough for every variant.

    The 1080 variant needs the display width up to 1080 and the thumbnails need the shorter
    side up to 320; the working-pixel cap only bites for extreme panoramas.
    """
    width, height = header.display_size
    needed = max(WIDTH_VARIANTS[0] / width, THUMBNAIL_SIZES[0][1] / min(width, height))
    capped = math.sqrt(_MAX_WORKING_PIXELS / (width * height))
    return min(1.0, needed, capped)


def _shrink_on_load_factor(scale: float) -> int:
    """Largest power-of-two shrink (1-8) that does not go below the working scale.

    The rest of the reduction is done by a lanczos resize, so the block shrink never decides
    the final pixels on its own.
    """
    return max(factor for factor in (1, 2, 4, 8) if factor * scale <= 1.0)


def _decode_working_image(data: bytes, header: _Header, header_image: VipsImage) -> VipsImage:
    """Decode once into memory: shrunk, 8-bit sRGB, alpha flattened, upright."""
    scale = _working_scale(header)
    image = _open_for_decode(data, header, header_image, _shrink_on_load_factor(scale))
    target_width = max(1, round(header.width * scale))
    target_height = max(1, round(header.height * scale))
    if image.hasalpha():
        # Alpha must be flattened before resampling, or transparent pixels' colours bleed in.
        image = _resize_exact(_to_opaque_srgb(image), target_width, target_height)
    else:
        # Colour conversion (an ICC transform costs ~20 ns a pixel) is cheaper after the resize.
        image = _to_opaque_srgb(_resize_exact(image, target_width, target_height))
    # Materialise here: variants read the image many times, the source is sequential-only, and
    # rotating an in-memory image is cheap where rotating a streamed one is not.
    image = image.copy_memory()
    return image.autorot() if header.orientation != 1 else image


def _open_for_decode(
    data: bytes, header: _Header, header_image: VipsImage, shrink: int
) -> VipsImage:
    if header.content_type == sniff.JPEG and shrink > 1:
        return _load_header(data, header.content_type, shrink=shrink)
    if header.content_type == sniff.WEBP and shrink > 1:
        return _load_header(data, header.content_type, scale=1.0 / shrink)
    if header.content_type in _HEIF_FAMILY and header.heif_compression != "av1":
        return _decode_hevc_heif(data, header)
    return header_image


def _decode_hevc_heif(data: bytes, header: _Header) -> VipsImage:
    """Decode HEVC HEIF with pillow-heif (nothing registered globally) into a vips image."""
    if header.heif_compression != "hevc":
        raise RejectedMediaError(f"HEIF compression {header.heif_compression!r} is not supported")
    try:
        heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)
        mode, (width, height) = heif.mode, heif.size
        bands = _PILLOW_HEIF_BANDS.get(mode)
        if bands is None:
            raise RejectedMediaError(f"HEIF pixel mode {mode} is not supported")
        if (width, height) != (header.width, header.height):
            raise RejectedMediaError("HEIF header and image sizes disagree")
        pixels = _packed_rows(heif.data, heif.stride, width * bands, height)
    except (ValueError, EOFError, SyntaxError, RuntimeError, OSError) as error:
        raise RejectedMediaError(f"HEIF image could not be decoded: {error}") from error
    image: VipsImage = pyvips.Image.new_from_memory(pixels, width, height, bands, "uchar")
    image = image.copy(interpretation="b-w" if bands <= 2 else "srgb")
    if header.icc_profile:
        # The pixels arrive without colour metadata; re-attach the profile (iPhones shoot in
        # Display P3) so the sRGB conversion below is right.
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", header.icc_profile)
    return image


def _packed_rows(buffer: bytes, stride: int, row_bytes: int, height: int) -> Buffer:
    """Drop the per-row padding libheif may add, as ``new_from_memory`` wants packed rows."""
    view = memoryview(buffer)
    if stride == row_bytes:
        return view[: row_bytes * height]  # no copy: the vips image keeps a reference
    return b"".join(view[row * stride : row * stride + row_bytes] for row in range(height))


def _to_opaque_srgb(image: VipsImage) -> VipsImage:
    """Convert to 8-bit sRGB (via the embedded ICC profile if any) and flatten onto white."""
    if image.get_typeof("icc-profile-data"):
        # An unusable profile is ignored: the plain conversion below still gives sRGB.
        with contextlib.suppress(pyvips.Error):
            image = image.icc_transform("srgb", embedded=True, intent="perceptual")
    image = image.colourspace("srgb")
    if image.hasalpha():
        image = image.flatten(background=_WHITE)
    return image.cast("uchar") if image.format != "uchar" else image


def _resize_exact(image: VipsImage, width: int, height: int) -> VipsImage:
    """Resize to exactly ``width`` x ``height`` (libvips rounds ``size * scale``)."""
    if (image.width, image.height) == (width, height):
        return image
    return image.resize(width / image.width, vscale=height / image.height)


# --- variants ----------------------------------------------------------------------------


def _render_variants(image: VipsImage) -> list[Variant]:
    """Encode the thumbnails and width variants described in the module docstring.

    Each resize + progressive JPEG encode is one lazy libvips pipeline reading the shared
    in-memory image; the encoders are single-threaded and release the GIL, so running the
    pipelines on a few threads roughly halves the wall time on a 2-core machine.
    """
    renditions = [_square_thumbnail(image, size) for _, size in THUMBNAIL_SIZES]
    names = [name for name, _ in THUMBNAIL_SIZES]
    widths = [(str(width), width) for width in WIDTH_VARIANTS if width <= image.width]
    if not widths:
        widths = [(str(WIDTH_VARIANTS[-1]), image.width)]
    for name, width in widths:
        height = max(1, round(image.height * width / image.width))
        renditions.append(_resize_exact(image, width, height))
        names.append(name)
    with ThreadPoolExecutor(max_workers=_ENCODER_THREADS) as pool:
        return list(pool.map(_encode, names, renditions))


def _square_thumbnail(image: VipsImage, size: int) -> VipsImage:
    side = min(image.width, image.height)
    square = image.crop((image.width - side) // 2, (image.height - side) // 2, side, side)
    edge = min(size, side)
    return _resize_exact(square, edge, edge)


def _encode(name: str, image: VipsImage) -> Variant:
    data = image.jpegsave_buffer(Q=JPEG_QUALITY, interlace=True, keep=pyvips.ForeignKeep.NONE)
    return Variant(name, image.width, image.height, "image/jpeg", data)


def _blurhash(image: VipsImage) -> str:
    """4x3-component blurhash of a copy at most 32 px wide (more pixels change nothing)."""
    width = min(_BLURHASH_WIDTH, image.width)
    height = max(1, round(image.height * width / image.width))
    tiny = _resize_exact(image, width, height)
    # write_to_memory gives a cffi buffer, whose items are 1-byte strings, not ints.
    pixels = bytes(tiny.write_to_memory())
    return encode_blurhash(pixels, width, height, *BLURHASH_COMPONENTS)
