"""Generate fixture media in-process (Pillow, pillow-heif, pyvips, PyAV); no files are read.

Every helper returns the encoded bytes. Images that tests inspect for orientation are painted
as quadrants: red top-left, green top-right, blue bottom-left, white bottom-right (in stored,
not displayed, orientation), so a test can tell where a corner ended up after rotation.
"""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime
from fractions import Fraction

import av
import pillow_heif
import pyvips
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image, ImageCms, ImageDraw, TiffImagePlugin

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)

_MAKE, _MODEL, _ORIENTATION = 0x010F, 0x0110, 0x0112
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATE_TIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9011


def quadrant_image(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A Pillow image painted in the four quadrant colours described in the module docstring."""
    image = Image.new(mode, (width, height), WHITE)
    half_w, half_h = width // 2, height // 2
    # paste() accepts empty boxes, so 1x1 images work too.
    image.paste(RED, (0, 0, half_w, half_h))
    image.paste(GREEN, (half_w, 0, width, half_h))
    image.paste(BLUE, (0, half_h, half_w, height))
    return image


def exif_bytes(
    *,
    make: str | None = "Canon",
    model: str | None = "Canon EOS 5D Mark IV",
    taken_at: datetime | None = datetime(2023, 7, 14, 18, 30, 5),
    offset: str | None = None,
    gps: tuple[float, float] | None = (-33.858766, 151.208333),
    orientation: int | None = None,
) -> bytes:
    """A TIFF-structured EXIF blob (no ``Exif\\0\\0`` prefix) with the given fields.

    GPS coordinates are written the way cameras do: unsigned degrees/minutes/seconds
    rationals plus an N/S or E/W reference.
    """
    exif = Image.Exif()
    if make is not None:
        exif[_MAKE] = make
    if model is not None:
        exif[_MODEL] = model
    if orientation is not None:
        exif[_ORIENTATION] = orientation
    exif_ifd = exif.get_ifd(_EXIF_IFD)
    if taken_at is not None:
        exif_ifd[_DATE_TIME_ORIGINAL] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
    if offset is not None:
        exif_ifd[_OFFSET_TIME_ORIGINAL] = offset
    if gps is not None:
        latitude, longitude = gps
        gps_ifd = exif.get_ifd(_GPS_IFD)
        gps_ifd[1] = "N" if latitude >= 0 else "S"
        gps_ifd[2] = _dms(abs(latitude))
        gps_ifd[3] = "E" if longitude >= 0 else "W"
        gps_ifd[4] = _dms(abs(longitude))
    return exif.tobytes()


def _dms(degrees: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    seconds = Fraction(round((degrees - whole - minutes / 60) * 3600 * 10000), 10000)
    return (
        TiffImagePlugin.IFDRational(whole, 1),
        TiffImagePlugin.IFDRational(minutes, 1),
        TiffImagePlugin.IFDRational(seconds.numerator, seconds.denominator),
    )


def jpeg_with_exif(
    width: int = 640,
    height: int = 480,
    *,
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
    xmp: bytes | None = None,
    quality: int = 90,
) -> bytes:
    """Quadrant JPEG carrying ``exif`` (default: :func:`exif_bytes` with GPS, no orientation)
    and, when given, an ICC profile and an XMP packet."""
    buffer = io.BytesIO()
    extra: dict[str, bytes] = {}
    if icc_profile is not None:
        extra["icc_profile"] = icc_profile
    if xmp is not None:
        extra["xmp"] = xmp
    blob = exif_bytes() if exif is None else exif
    quadrant_image(width, height).save(buffer, "JPEG", quality=quality, exif=blob, **extra)
    return buffer.getvalue()


def srgb_icc_profile() -> bytes:
    """An sRGB ICC profile made by LittleCMS (its description names the software)."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return profile.tobytes()


XMP_WITH_CREATOR = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator>Jane Photographer</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
)


def jpeg_with_raw_app1(payload: bytes, width: int = 64, height: int = 48) -> bytes:
    """JPEG whose APP1 segment is ``payload`` verbatim: for corrupt-EXIF tests."""
    buffer = io.BytesIO()
    quadrant_image(width, height).save(buffer, "JPEG", quality=90)
    plain = buffer.getvalue()
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return plain[:2] + segment + plain[2:]


def png_with_alpha(width: int = 400, height: int = 300) -> bytes:
    """RGBA PNG: opaque red square in the middle, fully transparent everywhere else."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle(
        (width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(*RED, 255)
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def png_16bit_half_transparent_red(width: int = 100, height: int = 80) -> bytes:
    """16-bit RGBA PNG, every pixel pure red at 50 % opacity."""
    pixels = pyvips.Image.black(width, height).cast("ushort").new_from_image([65535, 0, 0, 32768])
    data = pixels.cast("ushort").copy(interpretation="rgb16").pngsave_buffer()
    assert isinstance(data, bytes)
    return data


def cmyk_jpeg(width: int = 100, height: int = 80) -> bytes:
    """CMYK JPEG without an ICC profile, every pixel magenta + yellow ink (red)."""
    pixels = pyvips.Image.black(width, height).new_from_image([0, 255, 255, 0])
    data = pixels.cast("uchar").copy(interpretation="cmyk").jpegsave_buffer(Q=90)
    assert isinstance(data, bytes)
    return data


def _animation_frames(width: int, height: int) -> list[Image.Image]:
    return [Image.new("RGB", (width, height), colour) for colour in (RED, GREEN, BLUE)]


def animated_gif(width: int = 200, height: int = 150) -> bytes:
    """Three-frame looping GIF: red, then green, then blue."""
    first, *rest = _animation_frames(width, height)
    buffer = io.BytesIO()
    first.save(buffer, "GIF", save_all=True, append_images=rest, duration=100, loop=0)
    return buffer.getvalue()


def animated_webp(width: int = 200, height: int = 150) -> bytes:
    """Three-frame looping WebP: red, then green, then blue."""
    first, *rest = _animation_frames(width, height)
    buffer = io.BytesIO()
    first.save(buffer, "WEBP", save_all=True, append_images=rest, duration=100, loop=0)
    return buffer.getvalue()


def webp_still(width: int = 640, height: int = 480) -> bytes:
    """Lossy still quadrant WebP."""
    buffer = io.BytesIO()
    quadrant_image(width, height).save(buffer, "WEBP", quality=80)
    return buffer.getvalue()


def heic(width: int = 640, height: int = 480, *, exif: bytes | None = None) -> bytes:
    """HEVC HEIC of the quadrant image. An EXIF orientation makes pillow-heif write the
    equivalent HEIF rotation (``irot``), the way phones store portrait shots."""
    pixels = quadrant_image(width, height).tobytes()
    heif_file = pillow_heif.from_bytes("RGB", (width, height), pixels)
    buffer = io.BytesIO()
    # "ultrafast" keeps x265 from spending seconds on a fixture.
    heif_file.save(buffer, quality=85, exif=exif, enc_params={"preset": "ultrafast"})
    return buffer.getvalue()


def avif(width: int = 640, height: int = 480) -> bytes:
    """AV1 AVIF of the quadrant image (pyvips' libheif has an AV1 encoder)."""
    image = pyvips.Image.new_from_memory(
        quadrant_image(width, height).tobytes(), width, height, 3, "uchar"
    )
    data = image.heifsave_buffer(compression="av1", Q=60, effort=0)
    assert isinstance(data, bytes)
    return data


def mp4(
    width: int = 320,
    height: int = 240,
    *,
    frames: int = 24,
    rate: int = 12,
    rotation: int | None = None,
) -> bytes:
    """H.264 MP4 of the quadrant image; ``rotation`` (counter-clockwise degrees) is written
    as a display matrix, the way phones mark portrait video."""
    buffer = io.BytesIO()
    rgba = quadrant_image(width, height).convert("RGBA").tobytes()
    picture = av.VideoFrame.from_bytes(rgba, width, height, format="rgba")
    picture = picture.reformat(format="yuv420p")
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for index in range(frames):
            picture.pts = index
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))
    return buffer.getvalue()


PHONE_LATITUDE, PHONE_LONGITUDE = 48.858370, 2.294481
PHONE_ISO6709 = "+48.858370+002.294481+035.000/"
PHONE_MAKE, PHONE_MODEL = "Apple", "iPhone 15 Pro"
PHONE_CONTAINER_TAGS = {
    # ©xyz, ©mak, ©mod (classic user data) and the movie header's creation time ...
    "location": "+48.858370+002.294481/",
    "make": PHONE_MAKE,
    "model": PHONE_MODEL,
    "creation_time": "2023-07-14T16:30:05.000000Z",
    # ... and the QuickTime metadata keys current iPhones write.
    "com.apple.quicktime.location.ISO6709": PHONE_ISO6709,
    "com.apple.quicktime.make": PHONE_MAKE,
    "com.apple.quicktime.model": PHONE_MODEL,
    "com.apple.quicktime.software": "17.5.1",
    "com.apple.quicktime.creationdate": "2023-07-14T18:30:05+0200",
}
PHONE_VIDEO_HANDLER = "Core Media Video of Jane's phone"
PHONE_AUDIO_HANDLER = "Core Media Audio of Jane's phone"
PHONE_TIMECODE = "01:02:03:04"
PHONE_SECRETS = (
    "48.858",  # FFmpeg writes ©xyz with 4 decimals, the ISO 6709 key as given
    "2.294",
    "iPhone",
    "Apple",
    "17.5.1",
    "2023-07-14",
    "Jane",
    "quicktime",
    "ISO6709",
    "01:02:03:04",
)
"""Strings of the phone fixture's tags: none may appear in any published file."""


def phone_video(
    container_format: str = "mov",
    width: int = 320,
    height: int = 240,
    *,
    frames: int = 24,
    rate: int = 12,
    rotation: int = -90,
) -> bytes:
    """H.264 + AAC video of the quadrant image tagged the way a phone tags it: every
    `PHONE_CONTAINER_TAGS` entry, per-track handler names and creation times, a timecode track
    (QuickTime only) and a display rotation (-90: a phone held upright). `container_format` is
    "mov" or "mp4" (QuickTime metadata keys written in both, as FFmpeg's movenc allows)."""
    buffer = io.BytesIO()
    rgba = quadrant_image(width, height).convert("RGBA").tobytes()
    picture = av.VideoFrame.from_bytes(rgba, width, height, format="rgba")
    picture = picture.reformat(format="yuv420p")
    with av.open(
        buffer, mode="w", format=container_format, options={"movflags": "use_metadata_tags"}
    ) as container:
        container.metadata.update(PHONE_CONTAINER_TAGS)
        if container_format == "mov":
            container.metadata["timecode"] = PHONE_TIMECODE
        video = container.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.metadata.update(
            {"handler_name": PHONE_VIDEO_HANDLER, "creation_time": "2023-07-14T16:30:05Z"}
        )
        video.set_display_rotation(rotation)
        audio = container.add_stream("aac", rate=44100)
        audio.metadata.update(
            {"handler_name": PHONE_AUDIO_HANDLER, "creation_time": "2023-07-14T16:30:05Z"}
        )
        for index in range(frames):
            picture.pts = index
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
        samples_per_frame = 1024
        for index in range(frames * 44100 // rate // samples_per_frame):
            sound = av.AudioFrame(format="fltp", layout="mono", samples=samples_per_frame)
            for plane in sound.planes:
                plane.update(bytes(plane.buffer_size))
            sound.sample_rate, sound.pts = 44100, index * samples_per_frame
            container.mux(audio.encode(sound))
        container.mux(audio.encode(None))
    return buffer.getvalue()


def padded_to(data: bytes, size: int) -> bytes:
    """`data` (an ISO media file) followed by a `free` box, so that it is exactly `size` bytes
    long and still a valid file: two different clips can then be swapped for one another."""
    padding = size - len(data)
    if padding < 8:
        raise ValueError(f"cannot pad {len(data)} bytes to {size}")
    return data + struct.pack(">I", padding) + b"free" + b"\x00" * (padding - 8)


def bomb_png_header(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG that declares ``width`` x ``height`` 8-bit RGB pixels but carries almost no data.

    Only a decoder that trusts the header before checking it would start allocating or
    decoding 2.7 GB; the pipeline under test must reject it from the header alone.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    first_rows = zlib.compress(b"\x00" * (1 + width * 3) * 4)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", first_rows)
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def truncated_jpeg(fraction: float = 0.6) -> bytes:
    """The first ``fraction`` of a valid JPEG: headers intact, scan data cut short."""
    data = jpeg_with_exif(800, 600)
    return data[: int(len(data) * fraction)]


SVG_DISGUISED_AS_JPEG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<rect width="100" height="100" fill="red"/></svg>\n'
)
EMPTY = b""


def clip(
    width: int = 640,
    height: int = 480,
    *,
    seconds: float = 2.0,
    rate: int = 24,
    rotation: int | None = None,
    audio: bool = True,
    variable_rate: bool = False,
    ten_bit: bool = False,
    codec: str = "libx264",
) -> bytes:
    """An MP4 of the quadrant image with a moving bar (so the encoders have motion to code).

    `rotation`: display rotation (counter-clockwise degrees) as a display matrix.
    `variable_rate`: frames alternate 1/`rate` and 2/`rate` apart, on a 1/1000 s clock, as a
    phone's variable-frame-rate recording does. `ten_bit`: 10-bit 4:2:0 tagged BT.2020 / HLG
    (what HDR phone video is), from `codec`'s 10-bit profile (libx264 High 10, libx265 Main 10).
    """
    buffer = io.BytesIO()
    base = quadrant_image(width, height)
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream(codec, rate=rate)
        assert isinstance(video, VideoStream)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p10le" if ten_bit else "yuv420p"
        video.codec_context.options = {"preset": "ultrafast"}
        if ten_bit:
            context = video.codec_context
            context.color_primaries, context.color_trc, context.colorspace = 9, 18, 9
        if variable_rate:
            video.time_base = Fraction(1, 1000)
            video.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            video.set_display_rotation(rotation)
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=48000)
            sound.layout = "stereo"
        pts = 0
        index = 0
        end_ms = round(seconds * 1000)
        while (pts if variable_rate else index * 1000 // rate) < end_ms:
            picture = base.copy()
            bar = (index * 7) % max(1, width - 8)
            ImageDraw.Draw(picture).rectangle((bar, 0, bar + 8, height // 8), fill=(0, 0, 0))
            rgba = picture.convert("RGBA").tobytes()
            rgb = VideoFrame.from_bytes(rgba, width, height, format="rgba")
            frame = rgb.reformat(format=video.pix_fmt)
            frame.pts = pts if variable_rate else index
            container.mux(video.encode(frame))
            pts += (1000 // rate) * (1 + index % 2)
            index += 1
        container.mux(video.encode(None))
        if sound is not None:
            samples = 1024
            for block in range(round(seconds * 48000) // samples):
                tone = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
                for plane in tone.planes:
                    plane.update(bytes(plane.buffer_size))
                tone.sample_rate, tone.pts = 48000, block * samples
                container.mux(sound.encode(tone))
            container.mux(sound.encode(None))
    return buffer.getvalue()
