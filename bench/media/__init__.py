"""Media pipeline benchmark: media.images (pyvips) against a Pillow baseline, side by side.

Every (input, pipeline) pair runs in a fresh child process (``python -m bench.media --worker``)
so that its peak RSS is its own: the child reports its peak RSS (``VmHWM``) after its imports
and input read, and again after all its jobs. Inside the child one untimed warm-up job runs
first (a real worker is warm), then ``runs`` timed jobs; a job is the whole variant set from
the input bytes (decode, metadata, blurhash, six JPEG variants), timed with ``perf_counter``.

The Pillow baseline produces the same variant set with the same rules, using ``Image.draft``
(libjpeg DCT-scaled decoding, i.e. shrink-on-load) for JPEG, LANCZOS resizing, progressive
quality-82 optimized JPEGs and the same blurhash and EXIF code. It runs twice: encoding the
variants one after another (how Pillow code is usually written) and on the same thread count
as the pyvips pipeline (Pillow releases the GIL for parts of resizing and encoding), so the ratio
shows what comes from libvips and what comes from threads.

Generated inputs are synthetic photographs (gradients, waves and seeded noise, tuned so the
12 MP JPEG is about 3 MB like a real 12 MP camera photo) with camera EXIF and GPS; they are
written to a temporary directory and deleted afterwards.
"""

from __future__ import annotations

import functools
import io
import json
import math
import resource
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

PIPELINES = ("pyvips", "pillow", "pillow-threads")


@dataclass(frozen=True)
class JobStats:
    """What one worker child measured for one (input, pipeline) pair."""

    pipeline: str
    times_ms: list[float]
    rss_after_import_mb: float
    peak_rss_mb: float
    variants: list[tuple[str, int, int]]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95_ms(self) -> float:
        """Nearest-rank 95th percentile (with 15 runs: the 15th, i.e. the slowest)."""
        ordered = sorted(self.times_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


# --- input generation ----------------------------------------------------------------------


def synthetic_photo_rgb(width: int, height: int) -> bytes:
    """Packed 8-bit RGB of a photo-like synthetic image (deterministic). Pure, CPU only."""
    import pyvips

    xy = pyvips.Image.xyz(width, height)
    x, y = xy[0], xy[1]
    red = x / width * 200 + (y / 97).sin() * 25
    green = y / height * 180 + (x / 53 + y / 71).sin() * 30
    blue = ((x - width / 2) ** 2 + (y - height / 2) ** 2) ** 0.5 / max(width, height) * 400
    noise = pyvips.Image.gaussnoise(width, height, sigma=4, mean=0, seed=42)
    image = (red.bandjoin([green, blue]) + noise).cast("uchar")
    return bytes(image.write_to_memory())


def camera_exif() -> bytes:
    """EXIF of a phone photo: make, model, capture time with offset, GPS (Lisbon)."""
    from PIL import Image, TiffImagePlugin

    exif = Image.Exif()
    exif[0x010F] = "Bench"
    exif[0x0110] = "Synthetic 12MP"
    exif.get_ifd(0x8769).update({0x9003: "2024:05:01 12:00:00", 0x9011: "+01:00"})
    rational = TiffImagePlugin.IFDRational
    exif.get_ifd(0x8825).update(
        {
            1: "N",
            2: (rational(38, 1), rational(42, 1), rational(4321, 100)),
            3: "W",
            4: (rational(9, 1), rational(8, 1), rational(3456, 100)),
        }
    )
    return exif.tobytes()


def write_synthetic_jpeg(path: Path, width: int = 4000, height: int = 3000) -> Path:
    """Write a quality-92 synthetic photo JPEG with :func:`camera_exif` to ``path``."""
    from PIL import Image

    pixels = Image.frombytes("RGB", (width, height), synthetic_photo_rgb(width, height))
    pixels.save(path, "JPEG", quality=92, exif=camera_exif())
    return path


def write_synthetic_heic(path: Path, width: int = 4000, height: int = 3000) -> Path:
    """Write a synthetic photo HEIC to ``path``: pillow-heif, x265 "fast" preset, quality 60,
    stored as a grid of 512 px tiles like iPhones do (which lets libheif decode in parallel)."""
    import pillow_heif

    heif = pillow_heif.from_bytes("RGB", (width, height), synthetic_photo_rgb(width, height))
    heif.save(path, quality=60, exif=camera_exif(), tile_size=512, enc_params={"preset": "fast"})
    return path


# --- the Pillow baseline -------------------------------------------------------------------


def pillow_variants(data: bytes, *, threads: int) -> list[tuple[str, int, int, bytes]]:
    """The media.images variant set made with Pillow; ``threads`` encoders in parallel."""
    from PIL import Image, ImageOps

    from media.images import (
        THUMBNAIL_SIZES,
        WIDTH_VARIANTS,
        encode_blurhash,
        read_photo_metadata,
    )

    opened = Image.open(io.BytesIO(data))
    read_photo_metadata(opened.info.get("exif"))
    stored_width, stored_height = opened.size
    orientation = opened.getexif().get(0x0112, 1)
    turned = orientation in (5, 6, 7, 8)
    width, height = (stored_height, stored_width) if turned else (stored_width, stored_height)
    needed = max(WIDTH_VARIANTS[0] / width, THUMBNAIL_SIZES[0][1] / min(width, height))
    scale = min(1.0, needed)
    if opened.format == "JPEG":
        # Shrink-on-load: libjpeg decodes at the smallest 1/2, 1/4 or 1/8 scale that is still
        # at least the requested size.
        opened.draft("RGB", (math.ceil(stored_width * scale), math.ceil(stored_height * scale)))
    image: Image.Image = ImageOps.exif_transpose(opened)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    image = image.convert("RGB")
    base_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    base = image.resize(base_size, Image.Resampling.LANCZOS)
    tiny_width = min(32, base.width)
    tiny = base.resize((tiny_width, max(1, round(base.height * tiny_width / base.width))))
    encode_blurhash(tiny.tobytes(), tiny.width, tiny.height, 4, 3)

    def square(size: int) -> Image.Image:
        side = min(base.size)
        left, top = (base.width - side) // 2, (base.height - side) // 2
        edge = min(size, side)
        cropped = base.crop((left, top, left + side, top + side))
        return cropped.resize((edge, edge), Image.Resampling.LANCZOS)

    def sized(width: int) -> Image.Image:
        size = (width, max(1, round(base.height * width / base.width)))
        return base if size == base.size else base.resize(size, Image.Resampling.LANCZOS)

    jobs: list[tuple[str, Callable[[], Image.Image]]] = [
        (name, functools.partial(square, size)) for name, size in THUMBNAIL_SIZES
    ]
    widths = [(str(w), w) for w in WIDTH_VARIANTS if w <= base.width] or [
        (str(WIDTH_VARIANTS[-1]), base.width)
    ]
    jobs += [(name, functools.partial(sized, width)) for name, width in widths]

    def render(job: tuple[str, Callable[[], Image.Image]]) -> tuple[str, int, int, bytes]:
        name, make = job
        rendition = make()
        buffer = io.BytesIO()
        rendition.save(buffer, "JPEG", quality=82, progressive=True, optimize=True)
        return name, rendition.width, rendition.height, buffer.getvalue()

    if threads == 1:
        return [render(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(render, jobs))


# --- worker (runs in a child process) --------------------------------------------------------


def _peak_rss_mb() -> float:
    """Peak resident set of this process's address space (Linux ``VmHWM``).

    Not ``ru_maxrss``: Linux carries the parent's peak into a child across fork and exec, so a
    child started by a parent that generated 12 MP inputs would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # reported in kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(pipeline: str, path: Path, runs: int) -> JobStats:
    """Import one pipeline, run it once untimed and ``runs`` times timed on ``path``'s bytes."""
    import os

    if pipeline == "pyvips":
        from media.images import process_image

        def job(data: bytes) -> list[tuple[str, int, int]]:
            result = process_image(data)
            return [(v.name, v.width, v.height) for v in result.variants]

    else:
        threads = 1 if pipeline == "pillow" else max(1, len(os.sched_getaffinity(0)))

        def job(data: bytes) -> list[tuple[str, int, int]]:
            return [(n, w, h) for n, w, h, _ in pillow_variants(data, threads=threads)]

    data = path.read_bytes()
    rss_after_import = _peak_rss_mb()
    variants = job(data)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        job(data)
        times.append((time.perf_counter() - started) * 1000)
    return JobStats(pipeline, times, rss_after_import, _peak_rss_mb(), variants)


def stats_to_json(stats: JobStats) -> str:
    return json.dumps(stats.__dict__)


def stats_from_json(text: str) -> JobStats:
    raw = json.loads(text)
    raw["variants"] = [tuple(v) for v in raw["variants"]]
    return JobStats(**raw)
