"""Opaque cursors made of a version tag and integer fields (base64 of `tag:a:b:...`)."""

from __future__ import annotations

import base64
import binascii

from services.pagination import InvalidArgumentError


def encode_fields(tag: str, *fields: int | str) -> str:
    raw = ":".join([tag, *(str(field) for field in fields)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_fields(cursor: str, tags: dict[str, int]) -> tuple[str, list[str]]:
    """(tag, fields) of a cursor whose tag is one of `tags` (tag -> number of fields).

    Raises InvalidArgumentError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgumentError("`after` is not a cursor of this list.") from None
    tag, *fields = raw.split(":")
    if tags.get(tag) != len(fields):
        raise InvalidArgumentError("`after` is not a cursor of this list.")
    return tag, fields
