"""Relay global ids: a Node's `id` encodes its GraphQL type name (schema.node takes it from the
class name) and its database id."""

from __future__ import annotations

import base64

from strawberry.types.base import get_object_definition

from schema.build import build_schema
from schema.global_ids import decode_global_id, encode_global_id
from schema.node import Node
from schema.users import User
from tests.conftest import LiveApp
from tests.factories import make_user


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
        is_private=False,
    )  # fmt: skip
    assert decode_global_id(user.id()) == ("User", 42)


def test_only_the_canonical_spelling_of_an_id_decodes() -> None:
    canonical = str(encode_global_id("User", 42))  # "VXNlcjo0Mg"
    assert decode_global_id(canonical) == ("User", 42)
    raw = b"User:42"
    spellings = [
        canonical + "==",  # padded
        f" {canonical}",  # surrounded by spaces
        f"{canonical}\n",
        base64.b64encode(b"User:42\xff").decode(),  # junk bytes after the data
        base64.urlsafe_b64encode(b"User:042").decode().rstrip("="),  # a leading zero
        base64.urlsafe_b64encode(b"User:+42").decode().rstrip("="),  # a sign
        base64.urlsafe_b64encode("User:٤٢".encode()).decode().rstrip("="),  # Arabic-Indic digits
        base64.urlsafe_b64encode(b"User: 42").decode().rstrip("="),
        base64.urlsafe_b64encode(b"User:42 ").decode().rstrip("="),
        canonical[:-1] + chr(ord(canonical[-1]) + 1),  # same bytes, other unused low bits
        canonical.replace("j", "j+"),  # a non-alphabet character the decoder would skip
    ]
    assert raw == base64.urlsafe_b64decode(canonical + "==")
    for spelling in spellings:
        assert decode_global_id(spelling) is None, spelling


async def test_node_answers_null_for_a_non_canonical_id(live: LiveApp) -> None:
    user = await make_user(live.resources.db, "ada")
    canonical = str(encode_global_id("User", user.id))
    query = "query Q($id: ID!) { node(id: $id) { id } }"
    found = await live.graphql(query, {"id": canonical})
    assert found == {"data": {"node": {"id": canonical}}}
    padded = await live.graphql(query, {"id": canonical + "=="})
    assert padded == {"data": {"node": None}}
