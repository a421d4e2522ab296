"""The fast path for plain fields (execution/executor.py) answers exactly as graphql-core's
general execution does: the same data, the same errors with the same messages, paths and
locations, for every case the fast path takes and every case it must hand back.

Each document runs on two schemas built from the same types, one executed by
`PlainFieldExecution` and one by Strawberry's own execution context, and the two results are
compared whole. Hypothesis then generates queries for the same schema and compares again.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator
from typing import Any

import pytest
import strawberry
from graphql import GraphQLError
from hypothesis import HealthCheck, given, settings
from hypothesis_graphql import queries
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from execution.executor import PlainFieldExecution, plain_field_execution
from execution.field_plans import PlainLeaf, PlainObject, plain_field_plan, plans_of
from schema.build import build_schema

RESOLVER_CALLS: list[str] = []


@strawberry.enum
class Mood(enum.Enum):
    HAPPY = "HAPPY"
    GRUMPY = "GRUMPY"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Tag:
    label: str
    weight: int


class Nobody(BasePermission):
    message = "Nobody may read this."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Person(Named):
    age: int
    nickname: str | None
    mood: Mood
    tags: list[Tag]
    best_tag: Tag | None
    aliases: list[str]
    moods: list[Mood]
    lucky_numbers: list[int] | None = strawberry.field(
        description="A list of Ints; the last one wider than 32 bits for Ada."
    )
    broken_aliases: list[str] | None = strawberry.field(description="A None item in [String!].")
    broken_age: int = strawberry.field(description="Returns a value of the wrong type.")
    missing_age: int = strawberry.field(description="Returns None for a non-null Int.")
    huge_age: int = strawberry.field(description="Returns an int wider than 32 bits.")
    flag_as_int: int = strawberry.field(description="Returns a bool for an Int (coerced to 1).")
    secret: str | None = strawberry.field(
        default="s3cret",
        permission_classes=[Nobody],
        description="An attribute behind a permission.",
    )

    @strawberry.field
    def greeting(self, punctuation: str = "!", times: int = 1) -> str:
        return f"hi {self.name}" + punctuation * min(max(times, 0), 3)

    @strawberry.field
    def failing(self) -> str | None:
        RESOLVER_CALLS.append("failing")
        raise ValueError("failing resolver")

    @strawberry.field
    def absent_label(self) -> str:
        RESOLVER_CALLS.append("absentLabel")
        return None  # type: ignore[return-value]

    @strawberry.field
    async def later_age(self) -> int:
        await asyncio.sleep(0)
        return self.age

    @strawberry.field
    def with_info(self, info: Info) -> str:
        return info.field_name

    @strawberry.field
    def picky_tag(self, min_weight: int) -> Tag | None:
        return next((tag for tag in self.tags if tag.weight >= min_weight), None)


@strawberry.type
class Bad:
    """Sources of broken values: each field name says what it returns."""

    not_a_person: Person = strawberry.field(description="A Tag where a Person is due.")
    null_person: Person = strawberry.field(description="None for a non-null object.")
    tags_with_broken_item: list[Tag] | None = strawberry.field(
        description="A Tag whose non-null `weight` is None: fails its item, then the list."
    )
    tags_with_null: list[Tag] = strawberry.field(description="A None item in [Tag!]!.")


def person(name: str, age: int, *tags: tuple[str, int]) -> Person:
    return Person(
        name=name,
        age=age,
        nickname=None if age % 2 else name.lower(),
        mood=Mood.HAPPY if age % 2 else Mood.GRUMPY,
        tags=[Tag(label=label, weight=weight) for label, weight in tags],
        best_tag=Tag(label="best", weight=99) if tags else None,
        aliases=[name.lower(), name.upper()] if tags else [],
        moods=[Mood.HAPPY, Mood.GRUMPY][: age % 3],
        lucky_numbers=[7, 2**31] if name == "Ada" else [age],
        broken_aliases=[name, None],  # type: ignore[list-item]
        broken_age="forty",  # type: ignore[arg-type]
        missing_age=None,  # type: ignore[arg-type]
        huge_age=2**31,
        flag_as_int=True,
    )


PEOPLE = [person("Ada", 36, ("math", 3), ("engines", 5)), person("Bob", 41), person("Cy", 7)]


@strawberry.type
class Query:
    @strawberry.field
    def people(self) -> list[Person]:
        return PEOPLE

    @strawberry.field
    async def async_people(self) -> list[Person]:
        return PEOPLE

    @strawberry.field
    def first(self) -> Person:
        return PEOPLE[0]

    @strawberry.field
    def named(self) -> list[Named]:
        return list(PEOPLE)

    @strawberry.field
    def bad(self) -> Bad | None:
        return Bad(
            not_a_person=Tag(label="x", weight=1),  # type: ignore[arg-type]
            null_person=None,  # type: ignore[arg-type]
            tags_with_broken_item=[Tag(label="ok", weight=1), Tag(label="no", weight=None)],  # type: ignore[arg-type]
            tags_with_null=[Tag(label="ok", weight=1), None],  # type: ignore[list-item]
        )


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def moods(self, mood: Mood) -> AsyncGenerator[Mood, None]:
        yield mood


class QuietSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Strawberry logs every error with its traceback; these tests make hundreds on purpose."""


PLAIN = QuietSchema(query=Query, execution_context_class=PlainFieldExecution)
GENERAL = QuietSchema(query=Query)


async def both(document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run `document` on both schemas, assert the results are the same; return it."""
    plain = await PLAIN.execute(document, variable_values=variables)
    general = await GENERAL.execute(document, variable_values=variables)
    plain_errors = [error.formatted for error in plain.errors or []]
    general_errors = [error.formatted for error in general.errors or []]
    assert (plain.data, plain_errors) == (general.data, general_errors)
    return {"data": plain.data, "errors": plain_errors}


async def test_plain_fields_of_a_list_answer_as_the_general_path() -> None:
    result = await both(
        """{ people { __typename name age nickname mood alias: age tags { label weight }
                      bestTag { label } greeting pickyTag(minWeight: 4) { label } } }"""
    )
    assert result["errors"] == []
    assert result["data"]["people"][0] == {
        "__typename": "Person",
        "name": "Ada",
        "age": 36,
        "nickname": "ada",
        "mood": "GRUMPY",
        "alias": 36,
        "tags": [{"label": "math", "weight": 3}, {"label": "engines", "weight": 5}],
        "bestTag": {"label": "best"},
        "greeting": "hi Ada!",
        "pickyTag": {"label": "engines"},
    }
    assert result["data"]["people"][1]["tags"] == []
    assert result["data"]["people"][1]["bestTag"] is None
    assert result["data"]["people"][1]["pickyTag"] is None


async def test_lists_of_leaves_answer_as_the_general_path() -> None:
    result = await both("{ people { name aliases moods luckyNumbers } }")
    assert result["data"]["people"][1] == {
        "name": "Bob",
        "aliases": [],
        "moods": ["HAPPY", "GRUMPY"],
        "luckyNumbers": [41],
    }
    assert result["data"]["people"][0]["luckyNumbers"] is None
    assert [error["path"] for error in result["errors"]] == [["people", 0, "luckyNumbers", 1]]
    broken = await both("{ first { brokenAliases } }")
    assert broken["data"] == {"first": {"brokenAliases": None}}
    assert [error["message"] for error in broken["errors"]] == [
        "Cannot return null for non-nullable field Person.brokenAliases."
    ]


async def test_values_that_coercion_changes_are_coerced() -> None:
    result = await both("{ first { flagAsInt age } }")
    assert result["data"] == {"first": {"flagAsInt": 1, "age": 36}}


async def test_arguments_from_literals_defaults_and_variables() -> None:
    result = await both(
        """query Q($p: String!, $t: Int) { first {
             a: greeting b: greeting(punctuation: "?") c: greeting(punctuation: $p, times: $t)
           } }""",
        {"p": ".", "t": 3},
    )
    assert result["data"] == {"first": {"a": "hi Ada!", "b": "hi Ada?", "c": "hi Ada..."}}


async def test_fragments_directives_and_repeated_fields_merge_the_same() -> None:
    result = await both(
        """query Q($yes: Boolean!) {
             people { ...Who age @include(if: $yes) nickname @skip(if: $yes) name
                      ... on Person { tags { label } tags { weight } } } }
           fragment Who on Person { name mood }""",
        {"yes": True},
    )
    assert result["data"]["people"][0] == {
        "name": "Ada",
        "mood": "GRUMPY",
        "age": 36,
        "tags": [{"label": "math", "weight": 3}, {"label": "engines", "weight": 5}],
    }


@pytest.mark.parametrize(
    ("document", "message", "path"),
    [
        (
            "{ first { brokenAge } }",
            "Int cannot represent non-integer value: 'forty'",
            ["first", "brokenAge"],
        ),
        (
            "{ first { hugeAge } }",
            "Int cannot represent non 32-bit signed integer value: 2147483648",
            ["first", "hugeAge"],
        ),
        (
            "{ first { missingAge } }",
            "Cannot return null for non-nullable field Person.missingAge.",
            ["first", "missingAge"],
        ),
        ("{ first { failing name } }", "failing resolver", ["first", "failing"]),
        (
            "{ first { absentLabel } }",
            "Cannot return null for non-nullable field Person.absentLabel.",
            ["first", "absentLabel"],
        ),
        (
            "{ bad { notAPerson { name } } }",
            "Expected value of type 'Person' but got: <Tag instance>.",
            ["bad", "notAPerson"],
        ),
        (
            "{ bad { nullPerson { name } } }",
            "Cannot return null for non-nullable field Bad.nullPerson.",
            ["bad", "nullPerson"],
        ),
        (
            "{ bad { tagsWithBrokenItem { label weight } } }",
            "Cannot return null for non-nullable field Tag.weight.",
            ["bad", "tagsWithBrokenItem", 1, "weight"],
        ),
        (
            "{ bad { tagsWithNull { label } } }",
            "Cannot return null for non-nullable field Bad.tagsWithNull.",
            ["bad", "tagsWithNull", 1],
        ),
    ],
)
async def test_errors_are_the_general_paths_errors(
    document: str, message: str, path: list[str | int]
) -> None:
    result = await both(document)
    assert [(error["message"], error["path"]) for error in result["errors"]] == [(message, path)]


async def test_a_resolver_whose_value_needs_the_general_path_is_called_once() -> None:
    RESOLVER_CALLS.clear()
    result = await PLAIN.execute("{ first { failing } bad { notAPerson { absentLabel } } }")
    assert result.data == {"first": {"failing": None}, "bad": None}
    assert RESOLVER_CALLS == ["failing"]  # notAPerson is no Person: nothing resolved under it
    result = await PLAIN.execute("{ first { absentLabel } }")
    assert result.data is None  # a non-null field all the way up
    assert RESOLVER_CALLS == ["failing", "absentLabel"]


async def test_a_failing_item_nulls_its_nullable_list_and_nothing_else() -> None:
    result = await both("{ bad { tagsWithBrokenItem { label weight } } first { name } }")
    assert result["data"] == {"bad": {"tagsWithBrokenItem": None}, "first": {"name": "Ada"}}


async def test_awaitable_fields_under_plain_objects() -> None:
    result = await both("{ asyncPeople { laterAge tags { label } } first { laterAge } }")
    assert result["errors"] == []
    assert [p["laterAge"] for p in result["data"]["asyncPeople"]] == [36, 41, 7]


async def test_abstract_types_and_info_resolvers_take_the_general_path() -> None:
    result = await both("{ named { name __typename ... on Person { withInfo age } } }")
    assert result["data"]["named"][2] == {
        "name": "Cy",
        "__typename": "Person",
        "withInfo": "withInfo",
        "age": 7,
    }
    person_type = PLAIN._schema.get_type("Person")
    assert plain_field_plan(person_type, "withInfo") is None  # type: ignore[arg-type]
    assert plain_field_plan(person_type, "laterAge") is None  # type: ignore[arg-type]
    assert plain_field_plan(person_type, "failing") is not None  # type: ignore[arg-type]


async def test_a_field_with_a_permission_is_checked_as_the_general_path_checks_it() -> None:
    result = await both("{ first { name secret } }")
    assert result["data"] == {"first": {"name": "Ada", "secret": None}}
    assert [(e["message"], e["path"]) for e in result["errors"]] == [
        ("Nobody may read this.", ["first", "secret"])
    ]
    person_type = PLAIN._schema.get_type("Person")
    assert plain_field_plan(person_type, "secret") is None  # type: ignore[arg-type]


async def test_with_incremental_delivery_every_field_takes_the_general_path() -> None:
    incremental = StrawberryConfig(enable_experimental_incremental_execution=True)
    schema = QuietSchema(
        query=Query, execution_context_class=PlainFieldExecution, config=incremental
    )
    assert schema._schema.get_directive("defer") is not None
    assert plans_of(schema._schema) is None
    assert plans_of(PLAIN._schema) is not None
    document = "{ people { name tags { label } } first { greeting bestTag { weight } } }"
    result = await schema.execute(document)
    general = await GENERAL.execute(document)
    assert (result.data, result.errors) == (general.data, general.errors)
    assert result.data is not None
    assert result.data["first"]["greeting"] == "hi Ada!"


@pytest.mark.parametrize("suggestions", [True, False])
async def test_suggestions_follow_the_executor_class_in_queries_and_subscriptions(
    suggestions: bool,
) -> None:
    schema = QuietSchema(
        query=Query,
        subscription=Subscription,
        execution_context_class=plain_field_execution(field_suggestions=suggestions),
    )
    subscription = await schema.subscribe(
        "subscription S($m: Mood!) { moods(mood: $m) }", variable_values={"m": "HAPY"}
    )
    assert isinstance(subscription, AsyncGenerator)
    refused = await anext(subscription)
    assert [error.message for error in refused.errors or []] == [
        "Variable '$m' has invalid value: Value 'HAPY' does not exist in 'Mood' enum."
        + (" Did you mean the enum value 'HAPPY'?" if suggestions else "")
    ]


class Uppercase(SchemaExtension):
    """A resolve hook (schema middleware): every field must then take the general path."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        value = _next(root, info, *args, **kwargs)
        return value.upper() if isinstance(value, str) else value


async def test_with_schema_middleware_every_field_sees_it() -> None:
    schema = strawberry.Schema(
        query=Query, execution_context_class=PlainFieldExecution, extensions=[Uppercase]
    )
    result = await schema.execute("{ first { name nickname tags { label } } }")
    assert result.data == {
        "first": {
            "name": "ADA",
            "nickname": "ADA",
            "tags": [{"label": "MATH"}, {"label": "ENGINES"}],
        }
    }


def test_the_api_schema_takes_the_fast_path_for_the_feed_page_fields() -> None:
    graphql_schema = build_schema()._schema
    post = graphql_schema.get_type("Post")
    media = graphql_schema.get_type("Media")
    assert isinstance(plain_field_plan(post, "likeCount"), PlainLeaf)  # type: ignore[arg-type]
    assert isinstance(plain_field_plan(post, "author"), PlainObject)  # type: ignore[arg-type]
    media_plan = plain_field_plan(post, "media")  # type: ignore[arg-type]
    assert isinstance(media_plan, PlainObject)
    assert media_plan.item_type is not None
    image = plain_field_plan(media, "image")  # type: ignore[arg-type]
    assert isinstance(image, PlainObject)
    assert image.source.argument_names == {"minWidth": "min_width"}
    assert isinstance(plain_field_plan(post, "hashtags"), PlainLeaf)  # type: ignore[arg-type]
    comment = graphql_schema.get_type("Comment")
    assert isinstance(plain_field_plan(comment, "author"), PlainObject)  # type: ignore[arg-type]
    # async resolvers and ones taking the info keep Strawberry's wrapper
    assert plain_field_plan(post, "comments") is None  # type: ignore[arg-type]
    assert plain_field_plan(media, "metadata") is None  # type: ignore[arg-type]


@settings(
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(document=queries(PLAIN.as_str()))
async def test_generated_queries_answer_the_same(document: str) -> None:
    await both(document)


@pytest.mark.parametrize(
    "connection",
    ["PostConnection", "UserConnection", "CommentConnection", "NotificationConnection"],
)
def test_the_generic_connections_take_the_fast_path(connection: str) -> None:
    """Connection[T] (schema/pagination.py): every field of a connection and of its edge is
    plain, `nodes` and `totalCount` included."""
    graphql_schema = build_schema()._schema
    connection_type = graphql_schema.get_type(connection)
    edge_type = graphql_schema.get_type(connection.removesuffix("Connection") + "Edge")
    plans = {
        name: type(plain_field_plan(connection_type, name))  # type: ignore[arg-type]
        for name in ("edges", "nodes", "pageInfo", "totalCount")
    }
    plans |= {
        f"edge.{name}": type(plain_field_plan(edge_type, name))  # type: ignore[arg-type]
        for name in ("cursor", "node")
    }
    assert plans == {
        "edges": PlainObject,
        "nodes": PlainObject,
        "pageInfo": PlainObject,
        "totalCount": PlainLeaf,
        "edge.cursor": PlainLeaf,
        "edge.node": PlainObject,
    }
