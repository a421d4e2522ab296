"""Signed upload URLs of the local blob backend. Pure functions: no I/O, no clock (callers pass
`now`).

An upload URL is ``<base>/uploads/<key>?expires=<unix>&size=<n>&type=<content type>&sig=<hex>``
where ``sig`` is HMAC-SHA256 over the method, key, expiry, size and type. The route that receives
the PUT recomputes it, so none of those can be changed without the signing key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

UPLOAD_METHOD = "PUT"

_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_DECIMAL = re.compile(r"[0-9]{1,19}")

MALFORMED = "malformed upload URL"
BAD_SIGNATURE = "invalid upload signature"
EXPIRED = "upload URL has expired"


@dataclass(frozen=True)
class UploadGrant:
    """What a signed upload URL allows: one PUT of `size` bytes of `content_type` to `key`,
    until `expires` (unix seconds, inclusive)."""

    key: str
    content_type: str
    size: int
    expires: int


def derive_signing_key(secret: str | bytes) -> bytes:
    """The upload-signing key derived from the application secret (a key of its own, so
    upload URLs and access tokens never share one)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, b"shutter/local-blob-upload/v1", hashlib.sha256).digest()


def sign_upload(signing_key: bytes, grant: UploadGrant, *, method: str = UPLOAD_METHOD) -> str:
    """The hex HMAC-SHA256 of `grant` for `method`.

    The message is a JSON array, so no field can bleed into the next (a key containing a
    separator cannot impersonate another key/type pair).
    """
    message = json.dumps(
        [method, grant.key, grant.expires, grant.size, grant.content_type],
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode()
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()


def upload_query(signing_key: bytes, grant: UploadGrant) -> dict[str, str]:
    """The query parameters of the signed upload URL for `grant` (to be URL-encoded)."""
    return {
        "expires": str(grant.expires),
        "size": str(grant.size),
        "type": grant.content_type,
        "sig": sign_upload(signing_key, grant),
    }


def grant_from_query(key: str, query: Mapping[str, str]) -> UploadGrant | None:
    """Parse (without verifying) the grant a URL's query claims; None when malformed."""
    expires, size, content_type = query.get("expires"), query.get("size"), query.get("type")
    if expires is None or size is None or not content_type:
        return None
    if not _DECIMAL.fullmatch(expires) or not _DECIMAL.fullmatch(size):
        return None
    return UploadGrant(key=key, content_type=content_type, size=int(size), expires=int(expires))


def verify_upload(
    signing_key: bytes,
    key: str,
    query: Mapping[str, str],
    *,
    now: float,
    method: str = UPLOAD_METHOD,
) -> str | None:
    """Why the upload URL for `key` with `query` must be refused at time `now`, or None if it
    is valid. The signature is checked (in constant time) before the expiry."""
    grant = grant_from_query(key, query)
    signature = query.get("sig", "")
    if grant is None or not _SIGNATURE.fullmatch(signature):
        return MALFORMED
    expected = sign_upload(signing_key, grant, method=method)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return BAD_SIGNATURE
    if now > grant.expires:
        return EXPIRED
    return None
