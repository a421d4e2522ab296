"""The schema changes on purpose: every breaking or dangerous change against the last released
schema (schema/released/, graphql-core's find_breaking_changes / find_dangerous_changes) is
recorded, word for word, in docs/schema-changes.md with its migration for clients."""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLSchema, build_schema, find_breaking_changes, find_dangerous_changes

from schema.build import schema_sdl

ROOT = Path(__file__).resolve().parent.parent
RELEASED = ROOT / "schema" / "released"
CHANGELOG = ROOT / "docs" / "schema-changes.md"


def last_released() -> Path:
    """The released schema of the highest version (named `<major>.<minor>.<patch>.graphql`)."""
    releases = sorted(
        RELEASED.glob("*.graphql"),
        key=lambda path: tuple(int(part) for part in path.stem.split(".")),
    )
    assert releases, f"no released schema in {RELEASED}"
    return releases[-1]


def unrecorded_changes(old: GraphQLSchema, new: GraphQLSchema, changelog: str) -> list[str]:
    """`KIND: description` of each breaking or dangerous change whose description is not in
    `changelog`. Pure."""
    changes = [*find_breaking_changes(old, new), *find_dangerous_changes(old, new)]
    return [
        f"{change.type.name}: {change.description}"
        for change in changes
        if change.description not in changelog
    ]


def test_every_change_against_the_released_schema_is_recorded() -> None:
    released = build_schema(last_released().read_text())
    current = build_schema(schema_sdl())
    missing = unrecorded_changes(released, current, CHANGELOG.read_text())
    assert missing == [], (
        f"record these changes against {last_released().name}, with the migration for clients, "
        f"in docs/schema-changes.md: {missing}"
    )


def test_an_unrecorded_change_is_caught() -> None:
    released = build_schema("type Query { a: Int, b: Int, c: String }")
    current = build_schema("type Query { a: String, c: Int }")
    assert unrecorded_changes(released, current, "Field Query.b was removed.") == [
        "FIELD_CHANGED_KIND: Field Query.a changed type from Int to String.",
        "FIELD_CHANGED_KIND: Field Query.c changed type from String to Int.",
    ]
