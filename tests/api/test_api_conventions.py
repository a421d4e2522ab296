"""The conventions GraphQL clients expect (issue 17): one mutation shape (`input: <Name>Input!`,
its own `<Name>Payload` with `userErrors` and `clientMutationId`), connections with `nodes`
and `totalCount`, the cost in Shopify's shape with the actual cost, and a UTC `DateTime`."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_non_null_type,
)

from resources import Resources
from schema.build import build_schema
from schema.global_ids import encode_global_id
from settings import Settings
from tests.api.configured import app_with
from tests.api.helpers import sign_up
from tests.conftest import LiveApp
from tests.factories import make_media, make_user
from tests.feed_factories import at, insert_follows, insert_like, insert_post


@pytest.fixture(scope="module")
def graphql_schema() -> GraphQLSchema:
    return build_schema()._schema


def mutation_shape_problems(schema: GraphQLSchema) -> list[str]:
    """Every mutation that does not take exactly `input: <Name>Input!` and return a non-null
    `<Name>Payload` holding `userErrors` and `clientMutationId` (Name: the mutation's name
    capitalised); and every input without `clientMutationId`."""
    assert schema.mutation_type is not None
    problems = []
    for name, field in schema.mutation_type.fields.items():
        expected = name[0].upper() + name[1:]
        argument = field.args.get("input")
        if list(field.args) != ["input"] or argument is None:
            problems.append(f"{name}: arguments {list(field.args)}, not exactly `input`")
        elif not (
            isinstance(argument.type, GraphQLNonNull)
            and isinstance(argument.type.of_type, GraphQLInputObjectType)
            and argument.type.of_type.name == f"{expected}Input"
        ):
            problems.append(f"{name}: input is {argument.type}, not {expected}Input!")
        elif "clientMutationId" not in argument.type.of_type.fields:
            problems.append(f"{name}: {expected}Input has no clientMutationId")
        payload = get_named_type(field.type)
        if not is_non_null_type(field.type) or payload.name != f"{expected}Payload":
            problems.append(f"{name}: returns {field.type}, not {expected}Payload!")
        elif not isinstance(payload, GraphQLObjectType) or not {
            "userErrors",
            "clientMutationId",
        } <= set(payload.fields):
            problems.append(f"{name}: {payload.name} lacks userErrors or clientMutationId")
    return problems


def test_every_mutation_takes_one_input_and_returns_its_own_payload(
    graphql_schema: GraphQLSchema,
) -> None:
    assert graphql_schema.mutation_type is not None
    assert len(graphql_schema.mutation_type.fields) >= 16
    assert mutation_shape_problems(graphql_schema) == []
    payloads = [get_named_type(f.type) for f in graphql_schema.mutation_type.fields.values()]
    assert len({p.name for p in payloads}) == len(payloads)  # no payload shared
    interface = graphql_schema.get_type("Payload")
    assert all(isinstance(p, GraphQLObjectType) and interface in p.interfaces for p in payloads)


async def test_client_mutation_id_comes_back_in_success_and_failure(live: LiveApp) -> None:
    alice = await sign_up(live, "alice")
    token = alice["accessToken"]
    follow = """mutation F($input: FollowUserInput!) {
      followUser(input: $input) { clientMutationId user { username }
        userErrors { code field } } }"""
    bob = await sign_up(live, "bob")
    done = await live.graphql(
        follow, {"input": {"userId": bob["viewer"]["id"], "clientMutationId": "f-1"}}, token=token
    )
    assert done == {
        "data": {
            "followUser": {"clientMutationId": "f-1", "user": {"username": "bob"}, "userErrors": []}
        }
    }
    missing = str(encode_global_id("User", 999_999))
    refused = await live.graphql(
        follow, {"input": {"userId": missing, "clientMutationId": "f-2"}}, token=token
    )
    assert refused == {
        "data": {
            "followUser": {
                "clientMutationId": "f-2",
                "user": None,
                "userErrors": [{"code": "NOT_FOUND", "field": ["input", "userId"]}],
            }
        }
    }
    out = await live.graphql(
        'mutation { logOut(input: {clientMutationId: "bye"}) { ok clientMutationId } }',
        token=token,
    )
    assert out == {"data": {"logOut": {"ok": True, "clientMutationId": "bye"}}}


async def test_create_post_errors_point_at_the_media_item_at_fault(live: LiveApp) -> None:
    writer = await sign_up(live, "writer")
    writer_id = await live.resources.db.fetchval("SELECT id FROM users WHERE username = 'writer'")
    mine = str(encode_global_id("Media", await make_media(live.resources.db, writer_id)))
    other = await make_user(live.resources.db, "other")
    theirs = str(encode_global_id("Media", await make_media(live.resources.db, other.id)))
    create = """mutation P($input: CreatePostInput!) {
      createPost(input: $input) { post { id } userErrors { code field } } }"""
    media = [{"mediaId": mine, "altText": "a cat"}, {"mediaId": theirs}]
    body = await live.graphql(create, {"input": {"media": media}}, token=writer["accessToken"])
    assert body == {
        "data": {
            "createPost": {
                "post": None,
                "userErrors": [{"code": "NOT_FOUND", "field": ["input", "media", "1", "mediaId"]}],
            }
        }
    }
    assert await live.resources.db.fetchval("SELECT count(*) FROM posts") == 0


async def test_connections_have_nodes_and_exact_total_counts(live: LiveApp) -> None:
    db = live.resources.db
    star = await make_user(db, "star")
    fans = [await make_user(db, f"fan{i}") for i in range(3)]
    await insert_follows(db, [(fan.id, star.id) for fan in fans])
    post_id = await insert_post(db, star.id, at(0), likes=2)
    for fan in fans[:2]:
        await insert_like(db, post_id, fan.id, at(1))
    body = await live.graphql(
        """query Q($id: ID!) {
          user(username: "star") {
            followers(first: 2) { totalCount nodes { username } edges { node { username } } }
            following(first: 5) { totalCount nodes { username } }
          }
          post(id: $id) { likers(first: 1) { totalCount nodes { username } } }
          feed: explore(first: 1) { totalCount }
        }""",
        {"id": str(encode_global_id("Post", post_id))},
    )
    followers = body["data"]["user"]["followers"]
    assert followers["totalCount"] == 3
    assert len(followers["nodes"]) == 2
    assert followers["nodes"] == [edge["node"] for edge in followers["edges"]]
    assert body["data"]["user"]["following"] == {"totalCount": 0, "nodes": []}
    assert body["data"]["post"]["likers"]["totalCount"] == 2
    assert len(body["data"]["post"]["likers"]["nodes"]) == 1
    assert body["data"]["feed"] == {"totalCount": None}  # no exact count of explore


async def test_actual_cost_counts_what_the_response_holds(
    settings: Settings, clean: Resources
) -> None:
    async with app_with(settings, clean, query_cost_in_extensions=True) as app:
        star = await sign_up(app, "star")
        fans = [await make_user(clean.db, f"fan{i}") for i in range(3)]
        star_id = await clean.db.fetchval("SELECT id FROM users WHERE username = 'star'")
        await insert_follows(clean.db, [(fan.id, star_id) for fan in fans])
        body = await app.graphql(
            "{ viewer { followers(first: 20) { edges { node { username } } } } }",
            token=star["accessToken"],
        )
        assert len(body["data"]["viewer"]["followers"]["edges"]) == 3
        requested = 1 + 1 + 20 * 1  # viewer, the connection, 20 users
        assert body["extensions"]["cost"] == {
            "requestedQueryCost": requested,
            "actualQueryCost": 1 + 1 + 3,  # 3 users came back
            "throttleStatus": {
                "maximumAvailable": 10_000,
                "currentlyAvailable": 10_000 - requested,  # no refund (docs/query-cost.md)
                "restoreRate": 200,
            },
        }


async def test_date_times_are_rfc3339_in_utc_with_z(
    live: LiveApp, graphql_schema: GraphQLSchema
) -> None:
    scalar = graphql_schema.get_type("DateTime")
    assert scalar is not None
    assert scalar.specified_by_url == "https://datatracker.ietf.org/doc/html/rfc3339"  # type: ignore[attr-defined]
    signed_up = await sign_up(live, "zoe")
    body = await live.graphql("{ viewer { createdAt } }", token=signed_up["accessToken"])
    created_at: Any = body["data"]["viewer"]["createdAt"]
    assert created_at.endswith("Z")
    assert "+" not in created_at
