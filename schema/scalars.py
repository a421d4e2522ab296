"""`DateTime`: RFC 3339, always in UTC with a `Z` (replaces Strawberry's own DateTime scalar)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import strawberry
from strawberry.schema.types.base_scalars import wrap_parser
from strawberry.types.scalar import ScalarDefinition

RFC3339_URL = "https://datatracker.ietf.org/doc/html/rfc3339"


def serialize_utc(value: datetime) -> str:
    """`2026-12-07T14:31:43.123456Z`: the instant in UTC (a naive value is taken as UTC). Pure."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"


DATE_TIME = strawberry.scalar(
    name="DateTime",
    description="An instant as an RFC 3339 date and time, always in UTC with a `Z` "
    '(e.g. "2026-12-07T14:31:43.123456Z").',
    specified_by_url=RFC3339_URL,
    serialize=serialize_utc,
    parse_value=wrap_parser(datetime.fromisoformat, "DateTime"),
)

SCALAR_MAP: Mapping[object, ScalarDefinition] = {datetime: DATE_TIME}
"""For StrawberryConfig.scalar_map: every `datetime` field is this DateTime."""
