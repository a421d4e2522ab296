"""Apollo's automatic persisted queries (APQ) protocol, as Apollo Server implements it.

A client sends `extensions.persistedQuery = {version: 1, sha256Hash}`:
- without `query`: the registered text is used; unknown hash -> the GraphQL error
  `PersistedQueryNotFound` (code PERSISTED_QUERY_NOT_FOUND, HTTP 200), and the client retries
  with the text;
- with `query`: the hash must be the SHA-256 (hex) of that text (else HTTP 400), and the text is
  registered once the operation has run (documents that fail to parse or validate are not).

Over GET (`?extensions=...&variables=...`), hash-only requests are short URLs that a CDN can
cache (see GraphQLEndpoint's Cache-Control).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from cross_web import HTTPException
from redis.asyncio import Redis
from strawberry.http import GraphQLRequestData

from storage.persisted_queries import fetch_persisted_query

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_FOUND_MESSAGE = "PersistedQueryNotFound"
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class PersistedQueryNotFoundError(Exception):
    """The request named a hash that is not registered, and sent no text."""


@dataclass(frozen=True, slots=True)
class Registration:
    """A document text to register under its hash once the operation has run."""

    sha256_hex: str
    text: str


def persisted_query_hash(extensions: dict[str, object] | None) -> str | None:
    """The lowercase hash of `extensions.persistedQuery`, None when there is none.

    Raises HTTPException(400) for a malformed entry or a version other than 1.
    """
    if not extensions or "persistedQuery" not in extensions:
        return None
    entry = extensions["persistedQuery"]
    if not isinstance(entry, dict):
        raise HTTPException(400, "`extensions.persistedQuery` must be an object.")
    if entry.get("version") != 1:
        raise HTTPException(400, "Unsupported persisted query version")
    sha256_hex = entry.get("sha256Hash")
    if not isinstance(sha256_hex, str) or not _SHA256_HEX.fullmatch(sha256_hex):
        raise HTTPException(400, "`persistedQuery.sha256Hash` must be 64 hexadecimal digits.")
    return sha256_hex.lower()


async def resolve_persisted_query(
    redis: Redis, request_data: GraphQLRequestData
) -> Registration | None:
    """Apply the APQ protocol to one request.

    Hash only: sets `request_data.query` to the registered text, or raises
    PersistedQueryNotFoundError. Hash and text: raises HTTPException(400) when the hash is not
    the text's, else returns the Registration to store once the operation has run.
    Side effects: one Redis GET for a hash-only request; nothing otherwise.
    """
    sha256_hex = persisted_query_hash(request_data.extensions)
    if sha256_hex is None:
        return None
    if request_data.query is None:
        text = await fetch_persisted_query(redis, sha256_hex)
        if text is None:
            raise PersistedQueryNotFoundError
        request_data.query = text
        return None
    if hashlib.sha256(request_data.query.encode()).hexdigest() != sha256_hex:
        raise HTTPException(400, "provided sha does not match query")
    return Registration(sha256_hex, request_data.query)
