"""BlurHash encoder: packed 8-bit sRGB pixels in, a BlurHash string out.

Implemented from the specification (github.com/woltapp/blurhash, Algorithm.md) rather than
taken from blurhash-python, whose encoder wants a Pillow image and uses Image.getdata,
deprecated for removal in Pillow 14. A 32 px image makes the pure-Python cost a few ms.
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["encode_blurhash"]

_BASE83: Final = (
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
)
_SRGB_TO_LINEAR: Final = tuple(
    value / 255 / 12.92 if value / 255 <= 0.04045 else ((value / 255 + 0.055) / 1.055) ** 2.4
    for value in range(256)
)


def encode_blurhash(
    rgb: bytes, width: int, height: int, x_components: int, y_components: int
) -> str:
    """Blurhash of packed 8-bit sRGB pixels (``width * height * 3`` bytes). Pure function."""
    if not (1 <= x_components <= 9 and 1 <= y_components <= 9):
        raise ValueError("blurhash components must be between 1 and 9")
    if len(rgb) != width * height * 3:
        raise ValueError("pixel buffer does not match the given size")
    factors = _blurhash_factors(rgb, width, height, x_components, y_components)
    dc, ac = factors[0], factors[1:]
    size_flag = (x_components - 1) + (y_components - 1) * 9
    if ac:
        largest = max(abs(channel) for factor in ac for channel in factor)
        quantised_maximum = int(max(0, min(82, math.floor(largest * 166 - 0.5))))
        maximum = (quantised_maximum + 1) / 166
    else:
        quantised_maximum, maximum = 0, 1.0
    red, green, blue = (_linear_to_srgb(channel) for channel in dc)
    parts = [
        _base83(size_flag, 1),
        _base83(quantised_maximum, 1),
        _base83((red << 16) + (green << 8) + blue, 4),
    ]
    parts.extend(_base83(_encode_ac(factor, maximum), 2) for factor in ac)
    return "".join(parts)


def _blurhash_factors(
    rgb: bytes, width: int, height: int, x_components: int, y_components: int
) -> list[tuple[float, float, float]]:
    """DCT-like factors, DC first then row by row, summed separably (rows, then columns)."""
    linear = [_SRGB_TO_LINEAR[value] for value in rgb]
    cos_x = [[math.cos(math.pi * i * x / width) for x in range(width)] for i in range(x_components)]
    cos_y = [
        [math.cos(math.pi * j * y / height) for y in range(height)] for j in range(y_components)
    ]
    # row_sums[y][i][c]: sum over x of cos_x[i][x] * channel c of pixel (x, y).
    row_sums = []
    for y in range(height):
        row = linear[y * width * 3 : (y + 1) * width * 3]
        row_sums.append(
            [
                [
                    sum(c * p for c, p in zip(cos_x[i], row[channel::3], strict=True))
                    for channel in range(3)
                ]
                for i in range(x_components)
            ]
        )
    factors = []
    for j in range(y_components):
        for i in range(x_components):
            scale = (1 if i == j == 0 else 2) / (width * height)
            red, green, blue = (
                scale * sum(cos_y[j][y] * row_sums[y][i][channel] for y in range(height))
                for channel in range(3)
            )
            factors.append((red, green, blue))
    return factors


def _linear_to_srgb(value: float) -> int:
    clamped = max(0.0, min(1.0, value))
    if clamped <= 0.0031308:
        return int(clamped * 12.92 * 255 + 0.5)
    return int((1.055 * clamped ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _encode_ac(factor: tuple[float, float, float], maximum: float) -> int:
    red, green, blue = (
        int(max(0, min(18, math.floor(_sign_pow(channel / maximum, 0.5) * 9 + 9.5))))
        for channel in factor
    )
    return red * 19 * 19 + green * 19 + blue


def _sign_pow(value: float, exponent: float) -> float:
    return math.copysign(abs(value) ** exponent, value)


def _base83(value: int, length: int) -> str:
    return "".join(_BASE83[(value // 83 ** (length - i)) % 83] for i in range(1, length + 1))
