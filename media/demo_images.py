"""Generated pictures for demo data (`shutter seed`): pyvips renders, JPEG bytes out.

Four styles, each fully determined by an `ImageSpec` (its style and seed), so a seed run is
reproducible: the same spec always gives the same bytes.

- ``landscape``: a sky gradient, a sun with a glow, layered sine-wave mountains fading into haze
- ``shapes``: a diagonal gradient under translucent circles and bars
- ``noise``: Perlin or Worley noise mapped onto a three-colour palette, with contour bands
- ``card``: a gradient card with a coloured text caption

Pure CPU work with no I/O; call from a worker thread (pyvips releases the GIL).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import pyvips

ImageStyle = Literal["landscape", "shapes", "noise", "card"]
STYLES: tuple[ImageStyle, ...] = ("landscape", "shapes", "noise", "card")
SIZES: tuple[tuple[int, int], ...] = ((1080, 1350), (1080, 1080), (1440, 1080), (1200, 1500))
"""Portrait 4:5, square and landscape 4:3: each at least 1080 wide, so every width variant
of the media pipeline is produced."""
JPEG_QUALITY = 90
GRAIN_SIGMA = 5.0

Colour = tuple[float, float, float]
_WHITE: Colour = (255, 255, 255)

PALETTES: tuple[tuple[Colour, Colour, Colour], ...] = (
    ((255, 94, 77), (255, 195, 113), (46, 49, 146)),  # sunset
    ((11, 72, 107), (59, 178, 184), (245, 240, 225)),  # lagoon
    ((40, 24, 72), (166, 77, 121), (255, 214, 165)),  # dusk
    ((19, 78, 94), (113, 178, 128), (238, 242, 195)),  # forest
    ((255, 0, 110), (131, 56, 236), (58, 134, 255)),  # neon
    ((244, 162, 97), (231, 111, 81), (38, 70, 83)),  # desert
    ((202, 240, 248), (0, 119, 182), (3, 4, 94)),  # ocean
    ((255, 209, 102), (6, 214, 160), (17, 138, 178)),  # tropic
)


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """What to draw: a style, a seed for every random choice, and an optional text (cards)."""

    style: ImageStyle
    seed: int
    text: str = ""


def render_demo_image(spec: ImageSpec) -> bytes:
    """Render the picture `spec` describes as a JPEG (sRGB, quality 90, no metadata)."""
    rng = random.Random(spec.seed)  # noqa: S311 (reproducible pictures, not secrets)
    width, height = rng.choice(SIZES)
    palette = rng.choice(PALETTES)
    match spec.style:
        case "landscape":
            image = _landscape(rng, width, height, palette)
        case "shapes":
            image = _shapes(rng, width, height, palette)
        case "noise":
            image = _noise(rng, width, height, palette)
        case "card":
            image = _card(rng, width, height, palette, spec.text)
    grain = pyvips.Image.gaussnoise(width, height, sigma=GRAIN_SIGMA, mean=0, seed=spec.seed)
    final = (image + grain).cast("uchar").copy(interpretation="srgb")
    data = final.jpegsave_buffer(Q=JPEG_QUALITY, strip=True)
    assert isinstance(data, bytes)
    return data


def _lerp(t: pyvips.Image, start: Colour, end: Colour) -> pyvips.Image:
    """A 3-band image: `start` where t = 0, `end` where t = 1 (t is one float band)."""
    return t * [e - s for s, e in zip(start, end, strict=True)] + list(start)


def _mix(a: Colour, b: Colour, amount: float) -> Colour:
    return (
        a[0] + (b[0] - a[0]) * amount,
        a[1] + (b[1] - a[1]) * amount,
        a[2] + (b[2] - a[2]) * amount,
    )


def _coordinates(width: int, height: int) -> tuple[pyvips.Image, pyvips.Image]:
    xy = pyvips.Image.xyz(width, height).cast("float")
    return xy[0], xy[1]


def _landscape(
    rng: random.Random, width: int, height: int, palette: tuple[Colour, Colour, Colour]
) -> pyvips.Image:
    horizon_colour, sky_colour, land_colour = palette[1], palette[0], palette[2]
    x, y = _coordinates(width, height)
    image = _lerp(y / height, sky_colour, horizon_colour)
    # The sun: a disc and a soft glow around it.
    sun_x, sun_y = rng.uniform(0.2, 0.8) * width, rng.uniform(0.15, 0.4) * height
    radius = rng.uniform(0.05, 0.09) * width
    distance = ((x - sun_x) ** 2 + (y - sun_y) ** 2) ** 0.5
    glow = _clamp(1 - distance / (radius * 4))
    sun_colour: Colour = (255, 246, 214)
    image = image + glow * glow * [(c - 128) * 0.6 for c in sun_colour]
    image = (distance < radius).ifthenelse(list(sun_colour), image)
    # Mountain ridges, far (hazy, light) to near (dark, land colour).
    layers = rng.randint(3, 5)
    column = pyvips.Image.xyz(width, 1)[0].cast("float")
    for layer in range(layers):
        depth = (layer + 1) / layers
        base = height * (0.45 + 0.45 * depth * rng.uniform(0.75, 0.9))
        # The ridge depends on x only: compute one row, then repeat it down the image.
        ridge = column * 0 + base
        for _ in range(3):
            frequency = rng.uniform(0.1, 0.8) * (1 + layer) / width * 360
            amplitude = rng.uniform(0.02, 0.07) * height / (1 + layer * 0.4)
            ridge = ridge + (column * frequency + rng.uniform(0, 360)).sin() * amplitude
        ridge = ridge.copy_memory().replicate(1, height)
        colour = _mix(_mix(horizon_colour, _WHITE, 0.3), land_colour, depth)
        colour = _mix(colour, (0, 0, 0), 0.35 * depth)
        image = (y > ridge).ifthenelse(list(colour), image)
    return image


def _clamp(image: pyvips.Image) -> pyvips.Image:
    """Clip a float image to [0, 1]."""
    return (image < 0).ifthenelse(0, (image > 1).ifthenelse(1, image))


def _shapes(
    rng: random.Random, width: int, height: int, palette: tuple[Colour, Colour, Colour]
) -> pyvips.Image:
    x, y = _coordinates(width, height)
    angle = rng.uniform(0, 1)
    span = width * angle + height * (1 - angle)
    image = _lerp((x * angle + y * (1 - angle)) / span, *palette[:2]).copy_memory()
    for _ in range(rng.randint(5, 12)):
        colour = rng.choice(palette)
        opacity = rng.uniform(0.35, 0.8)
        if rng.random() < 0.6:
            radius = rng.uniform(0.05, 0.3) * min(width, height)
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            box = _box(cx - radius, cy - radius, cx + radius, cy + radius, width, height)
        else:
            left, top = rng.uniform(-0.2, 0.8) * width, rng.uniform(0, 0.9) * height
            right = left + rng.uniform(0.2, 0.7) * width
            box = _box(left, top, right, top + rng.uniform(0.03, 0.12) * height, width, height)
            radius = 0
        if box is None:
            continue
        # Work on the shape's bounding box only: the cost follows the shape's area.
        left_px, top_px, box_width, box_height = box
        patch = image.crop(left_px, top_px, box_width, box_height)
        blended = patch * (1 - opacity) + [c * opacity for c in colour]
        if radius:
            local_x, local_y = _coordinates(box_width, box_height)
            inside = (local_x + left_px - cx) ** 2 + (local_y + top_px - cy) ** 2 < radius**2
            blended = inside.ifthenelse(blended, patch)
        image = image.insert(blended, left_px, top_px).copy_memory()
    return image


def _box(
    left: float, top: float, right: float, bottom: float, width: int, height: int
) -> tuple[int, int, int, int] | None:
    """(left, top, width, height) of the rectangle clipped to the image; None when empty."""
    x0, y0 = max(0, int(left)), max(0, int(top))
    x1, y1 = min(width, int(right)), min(height, int(bottom))
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def _noise(
    rng: random.Random, width: int, height: int, palette: tuple[Colour, Colour, Colour]
) -> pyvips.Image:
    noise_seed = rng.randrange(2**31)
    if rng.random() < 0.5:
        cell = rng.choice((96, 160, 256, 384))
        field = (pyvips.Image.perlin(width, height, cell_size=cell, seed=noise_seed) + 1) / 2
    else:
        cell = rng.choice((64, 128, 192))
        raw = pyvips.Image.worley(width, height, cell_size=cell, seed=noise_seed)
        field = _clamp(raw / (cell * 0.8))
    # Contour bands turn smooth noise into a topographic-map look.
    bands = rng.choice((4, 6, 9))
    contours = _clamp((field * bands * 360).sin() * 4 + 3) * 0.18
    low = _lerp(_clamp(field * 2), palette[0], palette[1])
    high = _lerp(_clamp(field * 2 - 1), palette[1], palette[2])
    image = (field < 0.5).ifthenelse(low, high)
    return image * (1 - contours)


def _card(
    rng: random.Random,
    width: int,
    height: int,
    palette: tuple[Colour, Colour, Colour],
    text: str,
) -> pyvips.Image:
    x, y = _coordinates(width, height)
    image = _lerp((x + y) / (width + height), palette[0], palette[2])
    words = text or "hello"
    lightest = max(palette, key=sum)
    foreground = "#{:02x}{:02x}{:02x}".format(*(int(c) for c in _mix(lightest, _WHITE, 0.6)))
    markup = f'<span foreground="{foreground}"><b>{_escape(words)}</b></span>'
    label = pyvips.Image.text(
        markup,
        font="sans 40",
        width=int(width * 0.8),
        align="centre",
        dpi=rng.choice((200, 240)),
        rgba=True,
    )
    if label.height > height * 0.8:
        label = label.resize(height * 0.8 / label.height)
    label = label.cast("float")
    left = (width - label.width) // 2
    top = (height - label.height) // 2
    shadow = label[3].gaussblur(4) * (0.6 / 255)
    image = image.insert(
        image.crop(left + 6, top + 6, label.width, label.height) * (1 - shadow),
        left + 6,
        top + 6,
    )
    alpha = label[3] / 255
    patch = image.crop(left, top, label.width, label.height)
    return image.insert(patch * (1 - alpha) + label[0:3] * alpha, left, top)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
