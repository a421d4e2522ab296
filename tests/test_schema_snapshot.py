"""schema.graphql is the exported SDL of the code: regenerate with `shutter export-schema`."""

from __future__ import annotations

from pathlib import Path

from schema.build import schema_sdl

SNAPSHOT = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_graphql_matches_the_code() -> None:
    assert SNAPSHOT.read_text() == schema_sdl(), (
        "schema.graphql is out of date: run `shutter export-schema` and note the change in "
        "docs/schema-changes.md"
    )
