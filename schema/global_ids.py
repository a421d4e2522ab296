"""Opaque Relay global IDs: unpadded base64url of `<TypeName>:<database id>`.

Only the canonical encoding is accepted (the one `encode_global_id` makes): padding, spaces,
`+`/`/`, junk after the data, leading zeros, a sign or non-ASCII digits would otherwise decode to
the same record under many spellings, which caches, logs and rate limits keyed by id would not
recognise as one."""

from __future__ import annotations

import base64
import binascii

import strawberry


def encode_global_id(type_name: str, record_id: int) -> strawberry.ID:
    raw = f"{type_name}:{record_id}".encode()
    return strawberry.ID(base64.urlsafe_b64encode(raw).decode().rstrip("="))


def decode_global_id(global_id: str) -> tuple[str, int] | None:
    """(type name, database id), or None when the string is not one of our IDs."""
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, record_id = raw.partition(":")
        number = int(record_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not type_name.isidentifier() or not 0 < number < 2**63:
        return None
    if encode_global_id(type_name, number) != global_id:
        return None  # decodable, but not as we spell it
    return type_name, number


def decode_id_of_type(global_id: str, type_name: str) -> int | None:
    """The database id when `global_id` is an ID of a `type_name`, else None."""
    decoded = decode_global_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
