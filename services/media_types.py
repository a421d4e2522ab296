"""Which uploads Shutter accepts, and how large they may be."""

from __future__ import annotations

IMAGE_CONTENT_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic", "image/heif", "image/avif"}
)
VIDEO_CONTENT_TYPES = frozenset({"video/mp4", "video/quicktime"})


def media_kind(content_type: str) -> str | None:
    """IMAGE, VIDEO, or None for a type we do not accept."""
    if content_type in IMAGE_CONTENT_TYPES:
        return "IMAGE"
    if content_type in VIDEO_CONTENT_TYPES:
        return "VIDEO"
    return None
