"""Relay global ids: a Node's `id` encodes its GraphQL type name (schema.node takes it from the
class name) and its database id."""

from __future__ import annotations

from strawberry.types.base import get_object_definition

from schema.build import build_schema
from schema.global_ids import decode_global_id
from schema.node import Node
from schema.users import User


def node_types() -> list[type[Node]]:
    found: list[type[Node]] = []
    pending = list(Node.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending += cls.__subclasses__()
    return found


def test_every_node_type_is_named_after_its_class() -> None:
    build_schema()  # every type is imported
    types = node_types()
    assert {cls.__name__ for cls in types} == {
        "User", "Post", "Comment", "Hashtag", "Media", "Notification",
    }  # fmt: skip
    for cls in types:
        assert get_object_definition(cls, strict=True).name == cls.__name__


def test_a_node_id_encodes_its_type_and_record_id() -> None:
    user = User(
        record_id=42, username="ada", full_name=None, bio=None, follower_count=0,
        following_count=0, post_count=0, created_at=None,  # type: ignore[arg-type]
    )  # fmt: skip
    assert decode_global_id(user.id()) == ("User", 42)
