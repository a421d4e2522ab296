"""media.images: variants, orientation, metadata, stripping and hostile input."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
import pyvips
from PIL import Image

from media.images import (
    PhotoMetadata,
    ProcessedImage,
    RejectedMediaError,
    Variant,
    process_image,
)
from tests import media_fixtures as fixtures

Colour = tuple[int, int, int]
R, G, B, W = fixtures.RED, fixtures.GREEN, fixtures.BLUE, fixtures.WHITE
UNSUPPORTED = "not a supported image format (accepted: JPEG, PNG, WebP, GIF, HEIC/HEIF, AVIF)"


def sizes(result: ProcessedImage) -> list[tuple[str, int, int]]:
    return [(variant.name, variant.width, variant.height) for variant in result.variants]


def variant(result: ProcessedImage, name: str) -> Variant:
    return next(v for v in result.variants if v.name == name)


def pixel(data: bytes, x_fraction: float, y_fraction: float) -> Colour:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    x = int(image.width * x_fraction)
    y = int(image.height * y_fraction)
    red, green, blue = image.getpixel((x, y))  # type: ignore[misc]
    return red, green, blue


def nearest(colour: Colour) -> Colour:
    """The fixture colour closest to ``colour`` (JPEG never returns exact values)."""
    candidates = (R, G, B, W)
    return min(candidates, key=lambda c: sum((a - b) ** 2 for a, b in zip(c, colour, strict=True)))


def corners(data: bytes) -> tuple[Colour, Colour, Colour, Colour]:
    """Top-left, top-right, bottom-left, bottom-right quadrant colours of a JPEG."""
    return (
        nearest(pixel(data, 0.25, 0.25)),
        nearest(pixel(data, 0.75, 0.25)),
        nearest(pixel(data, 0.25, 0.75)),
        nearest(pixel(data, 0.75, 0.75)),
    )


# --- variant set ---------------------------------------------------------------------------


def test_12mp_jpeg_with_orientation_6_is_rotated_and_gets_every_variant() -> None:
    exif = fixtures.exif_bytes(orientation=6)
    result = process_image(fixtures.jpeg_with_exif(4000, 3000, exif=exif))

    assert (result.width, result.height) == (3000, 4000)
    assert sizes(result) == [
        ("thumb320", 320, 320),
        ("thumb160", 160, 160),
        ("1080", 1080, 1440),
        ("750", 750, 1000),
        ("640", 640, 853),
        ("480", 480, 640),
    ]
    # Orientation 6 turns the stored image 90 degrees clockwise: stored top-left is top-right.
    assert corners(variant(result, "1080").data) == (B, R, W, G)


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (
            2000,
            1000,
            [
                ("thumb320", 320, 320),
                ("thumb160", 160, 160),
                ("1080", 1080, 540),
                ("750", 750, 375),
                ("640", 640, 320),
                ("480", 480, 240),
            ],
        ),
        (
            1080,
            1080,
            [
                ("thumb320", 320, 320),
                ("thumb160", 160, 160),
                ("1080", 1080, 1080),
                ("750", 750, 750),
                ("640", 640, 640),
                ("480", 480, 480),
            ],
        ),
        (
            700,
            500,
            [("thumb320", 320, 320), ("thumb160", 160, 160), ("640", 640, 457), ("480", 480, 343)],
        ),
        (500, 400, [("thumb320", 320, 320), ("thumb160", 160, 160), ("480", 480, 384)]),
        # Narrower than 480: one "480" variant at the source size, never upscaled.
        (400, 300, [("thumb320", 300, 300), ("thumb160", 160, 160), ("480", 400, 300)]),
        (100, 60, [("thumb320", 60, 60), ("thumb160", 60, 60), ("480", 100, 60)]),
        (1, 1, [("thumb320", 1, 1), ("thumb160", 1, 1), ("480", 1, 1)]),
    ],
)
def test_variant_sizes_never_upscale(
    width: int, height: int, expected: list[tuple[str, int, int]]
) -> None:
    result = process_image(fixtures.jpeg_with_exif(width, height))

    assert (result.width, result.height) == (width, height)
    assert sizes(result) == expected


def test_thumbnails_are_centre_crops() -> None:
    # A 3:1 image: the centre square holds the inner halves of the four quadrants only.
    result = process_image(fixtures.jpeg_with_exif(1200, 400))

    assert corners(variant(result, "thumb320").data) == (R, G, B, W)
    assert nearest(pixel(variant(result, "thumb320").data, 0.1, 0.1)) == R
    assert nearest(pixel(variant(result, "thumb320").data, 0.9, 0.1)) == G


# EXIF orientation -> where the stored quadrants (R top-left, G top-right, B bottom-left,
# W bottom-right) appear after auto-rotation, as (top-left, top-right, bottom-left, bottom-right).
ORIENTED_CORNERS = {
    1: (R, G, B, W),
    2: (G, R, W, B),
    3: (W, B, G, R),
    4: (B, W, R, G),
    5: (R, B, G, W),
    6: (B, R, W, G),
    7: (W, G, B, R),
    8: (G, W, R, B),
}


@pytest.mark.parametrize("orientation", sorted(ORIENTED_CORNERS))
def test_every_exif_orientation_is_applied(orientation: int) -> None:
    exif = fixtures.exif_bytes(orientation=orientation)
    result = process_image(fixtures.jpeg_with_exif(640, 480, exif=exif))

    expected_size = (480, 640) if orientation >= 5 else (640, 480)
    assert (result.width, result.height) == expected_size
    assert (variant(result, "480").width, variant(result, "480").height) == (
        (480, 640) if orientation >= 5 else (480, 360)
    )
    assert corners(variant(result, "480").data) == ORIENTED_CORNERS[orientation]


# --- formats -----------------------------------------------------------------------------


def test_png_alpha_is_flattened_onto_white() -> None:
    result = process_image(fixtures.png_with_alpha(400, 300))

    assert sizes(result) == [("thumb320", 300, 300), ("thumb160", 160, 160), ("480", 400, 300)]
    data = variant(result, "480").data
    assert nearest(pixel(data, 0.05, 0.05)) == W
    assert nearest(pixel(data, 0.5, 0.5)) == R
    assert Image.open(io.BytesIO(data)).mode == "RGB"


def test_16_bit_alpha_is_blended_onto_white_in_8_bit() -> None:
    result = process_image(fixtures.png_16bit_half_transparent_red(100, 80))

    red, green, blue = pixel(variant(result, "480").data, 0.5, 0.5)
    assert red >= 252
    assert 124 <= green <= 131
    assert 124 <= blue <= 131


def test_cmyk_jpeg_becomes_rgb() -> None:
    result = process_image(fixtures.cmyk_jpeg(100, 80))

    data = variant(result, "480").data
    assert Image.open(io.BytesIO(data)).mode == "RGB"
    assert nearest(pixel(data, 0.5, 0.5)) == R


@pytest.mark.parametrize("make", [fixtures.animated_gif, fixtures.animated_webp])
def test_animations_use_the_first_frame(make: object) -> None:
    assert callable(make)
    result = process_image(make())

    assert (result.width, result.height) == (200, 150)
    assert sizes(result) == [("thumb320", 150, 150), ("thumb160", 150, 150), ("480", 200, 150)]
    assert nearest(pixel(variant(result, "480").data, 0.5, 0.5)) == R


def test_webp_still() -> None:
    result = process_image(fixtures.webp_still(1600, 1200))

    assert sizes(result)[2:] == [
        ("1080", 1080, 810),
        ("750", 750, 562),
        ("640", 640, 480),
        ("480", 480, 360),
    ]
    assert corners(variant(result, "1080").data) == (R, G, B, W)


def test_heic_is_decoded_with_its_exif() -> None:
    result = process_image(fixtures.heic(640, 480, exif=fixtures.exif_bytes()))

    assert (result.width, result.height) == (640, 480)
    assert sizes(result) == [
        ("thumb320", 320, 320),
        ("thumb160", 160, 160),
        ("640", 640, 480),
        ("480", 480, 360),
    ]
    assert corners(variant(result, "640").data) == (R, G, B, W)
    assert result.metadata.camera_model == "Canon EOS 5D Mark IV"
    assert result.metadata.latitude == pytest.approx(-33.858766, abs=1e-6)


def test_heic_rotation_is_applied_once() -> None:
    # Phones store the rotation as HEIF irot *and* EXIF orientation; only one may apply.
    result = process_image(fixtures.heic(640, 480, exif=fixtures.exif_bytes(orientation=6)))

    assert (result.width, result.height) == (480, 640)
    assert corners(variant(result, "480").data) == ORIENTED_CORNERS[6]


def test_avif() -> None:
    result = process_image(fixtures.avif(640, 480))

    assert (result.width, result.height) == (640, 480)
    assert sizes(result)[2:] == [("640", 640, 480), ("480", 480, 360)]
    assert corners(variant(result, "640").data) == (R, G, B, W)


# --- published files carry no metadata ---------------------------------------------------


def test_every_variant_is_a_progressive_jpeg_without_any_metadata() -> None:
    source = fixtures.jpeg_with_exif(
        1600,
        1200,
        exif=fixtures.exif_bytes(orientation=3),
        icc_profile=fixtures.srgb_icc_profile(),
        xmp=fixtures.XMP_WITH_CREATOR,
    )
    result = process_image(source)

    assert len(result.variants) == 6
    for published in result.variants:
        assert published.content_type == "image/jpeg"
        vips_image = pyvips.Image.jpegload_buffer(published.data)
        assert (vips_image.width, vips_image.height) == (published.width, published.height)
        fields = set(vips_image.get_fields())
        assert not {f for f in fields if f.startswith(("exif", "xmp", "iptc", "icc", "orient"))}
        pil_image = Image.open(io.BytesIO(published.data))
        assert pil_image.format == "JPEG"
        assert pil_image.info.get("progressive") == 1
        assert not {"exif", "icc_profile", "xmp", "photoshop"} & set(pil_image.info)
        assert len(pil_image.getexif()) == 0
        for marker in (b"Exif", b"GPS", b"Canon", b"http://ns.adobe.com", b"Jane", b"lcms"):
            assert marker not in published.data


# --- metadata ----------------------------------------------------------------------------


def test_metadata_from_exif() -> None:
    result = process_image(fixtures.jpeg_with_exif())

    assert result.metadata == PhotoMetadata(
        camera_make="Canon",
        camera_model="Canon EOS 5D Mark IV",
        taken_at=datetime(2023, 7, 14, 18, 30, 5, tzinfo=UTC),
        latitude=pytest.approx(-33.858766, abs=1e-6),  # type: ignore[arg-type]
        longitude=pytest.approx(151.208333, abs=1e-6),  # type: ignore[arg-type]
    )


def test_metadata_keeps_the_camera_utc_offset() -> None:
    exif = fixtures.exif_bytes(offset="-05:30", gps=(40.446972, -3.724753))
    metadata = process_image(fixtures.jpeg_with_exif(exif=exif)).metadata

    assert metadata.taken_at == datetime(
        2023, 7, 14, 18, 30, 5, tzinfo=timezone(-timedelta(hours=5, minutes=30))
    )
    assert metadata.latitude == pytest.approx(40.446972, abs=1e-6)
    assert metadata.longitude == pytest.approx(-3.724753, abs=1e-6)


def test_missing_exif_gives_empty_metadata() -> None:
    result = process_image(fixtures.png_with_alpha())

    assert result.metadata == PhotoMetadata(None, None, None, None, None)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_corrupt_exif_does_not_break_processing() -> None:
    data = fixtures.jpeg_with_raw_app1(b"Exif\x00\x00MM\x00*\x00\x00\xff\xff\xff\xf0garbage")
    result = process_image(data)

    assert result.metadata == PhotoMetadata(None, None, None, None, None)
    assert sizes(result)[-1] == ("480", 64, 48)


# --- blurhash ----------------------------------------------------------------------------


def _base83_decode(text: str) -> int:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
    value = 0
    for character in text:
        value = value * 83 + alphabet.index(character)
    return value


def test_blurhash_of_a_photo_has_4x3_components_and_its_average_colour() -> None:
    solid = Image.new("RGB", (300, 200), (200, 40, 40))
    buffer = io.BytesIO()
    solid.save(buffer, "PNG")
    result = process_image(buffer.getvalue())

    # Size flag "L" is (4 - 1) + (3 - 1) * 9; then 1 + 4 + 2 * 11 more characters.
    assert result.blurhash[0] == "L"
    assert len(result.blurhash) == 28
    # Characters 2-5 are the average colour as 0xRRGGBB.
    average = _base83_decode(result.blurhash[2:6])
    assert (average >> 16, (average >> 8) & 0xFF, average & 0xFF) == (200, 40, 40)


# --- rejected input ----------------------------------------------------------------------


def test_decompression_bomb_is_rejected_from_the_header() -> None:
    started = time.perf_counter()
    with pytest.raises(RejectedMediaError) as caught:
        process_image(fixtures.bomb_png_header(30_000, 30_000))

    assert caught.value.reason == "image is 900000000 pixels; the limit is 100000000"
    # A generous bound (decoding 900 megapixels would take far longer, or run out of memory):
    # the exact reason above already says the header alone decided.
    assert time.perf_counter() - started < 10


def test_pixel_limit_is_configurable() -> None:
    with pytest.raises(RejectedMediaError) as caught:
        process_image(fixtures.jpeg_with_exif(640, 480), max_pixels=300_000)

    assert caught.value.reason == "image is 307200 pixels; the limit is 300000"


def test_truncated_jpeg_is_rejected() -> None:
    with pytest.raises(RejectedMediaError) as caught:
        process_image(fixtures.truncated_jpeg())

    assert caught.value.reason == (
        "image data is corrupt or truncated: VipsJpeg: premature end of JPEG image"
    )


@pytest.mark.parametrize(
    "data",
    [
        fixtures.SVG_DISGUISED_AS_JPEG,
        fixtures.EMPTY,
        b"just some text, saved as photo.jpg\n",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        b"II*\x00\x08\x00\x00\x00",  # TIFF
        b"BM" + b"\x00" * 60,  # BMP
    ],
    ids=["svg", "empty", "text", "pdf", "tiff", "bmp"],
)
def test_unsupported_formats_never_reach_a_loader(data: bytes) -> None:
    with pytest.raises(RejectedMediaError) as caught:
        process_image(data)

    assert caught.value.reason == UNSUPPORTED


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0" + b"\x00" * 100,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        b"GIF89a" + b"\xff" * 50,
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 20,
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40,
        b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1avif" + b"\x00" * 40,
    ],
    ids=["jpeg", "png", "gif", "webp", "heic", "avif"],
)
def test_right_magic_but_garbage_is_rejected(data: bytes) -> None:
    with pytest.raises(RejectedMediaError) as caught:
        process_image(data)

    assert caught.value.reason.startswith("image data is corrupt or truncated: ")
