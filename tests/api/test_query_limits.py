"""Query limits before execution: depth, aliases, tokens, `first` on every connection, the cost
model, the per-request maximum, the points budget in Redis; introspection and suggestions."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    is_object_type,
    parse,
    validate,
)
from strawberry.extensions.max_aliases import create_validator as strawberry_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as strawberry_depth_rule

from execution.admission import ApiLimits, DocumentRules
from execution.cost import LIST_BOUNDS, CostModel, compile_cost
from execution.document_measures import DocumentMeasures
from resolvers.context import Context
from resources import Resources
from schema.build import build_schema
from schema.global_ids import encode_global_id
from services.pagination import MAX_PAGE_SIZE
from settings import Settings
from tests.api.configured import app_with
from tests.api.helpers import sign_up
from tests.conftest import LiveApp
from tests.feed_factories import insert_like, insert_post

STRICT = {"accept": "application/graphql-response+json"}
FEED = """
query Feed($first: Int!) {
  feed(first: $first, order: CHRONOLOGICAL) {
    edges { node { id author { username } likeCount commentCount viewerHasLiked
                   media { image(minWidth: 640) { url width } } } }
  }
}
"""
FEED_COST_PER_POST = 1 + 1 + 10 * (1 + 1)  # node, author, up to 10 media with one image each


@pytest.fixture(scope="module")
def graphql_schema() -> GraphQLSchema:
    return build_schema()._schema


def cost(schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None) -> int:
    return compile_cost(schema, parse(query), None).evaluate(variables)


# --- Depth, aliases, tokens ---------------------------------------------------------------


async def post_strict(live: LiveApp, query: str, token: str | None = None) -> httpx.Response:
    headers = STRICT | ({"authorization": f"Bearer {token}"} if token else {})
    return await live.http.post("/graphql", json={"query": query}, headers=headers)


async def test_a_query_deeper_than_the_limit_is_refused_before_running(live: LiveApp) -> None:
    nested = '{ user(username: "a") { ' + "followers(first: 2) { edges { node { " * 4 + "id"
    too_deep = nested + " } } }" * 4 + " } }"  # depth 14 > 12
    response = await post_strict(live, too_deep)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "'anonymous' exceeds maximum operation depth of 12",
                "locations": [{"line": 1, "column": 173}],
            }
        ]
    }
    fine = '{ user(username: "a") { ' + "followers(first: 2) { edges { node { " * 3 + "id"
    assert (await post_strict(live, fine + " } } }" * 3 + " } }")).status_code == 200


async def test_more_aliases_than_the_limit_are_refused(live: LiveApp) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(31))
    response = await post_strict(live, "{ " + aliases + " }")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"message": "31 aliases found. Allowed: 30"}]
    thirty = " ".join(f"a{i}: __typename" for i in range(30))
    assert (await post_strict(live, "{ " + thirty + " }")).status_code == 200


async def test_a_document_with_too_many_tokens_is_refused_while_parsing(live: LiveApp) -> None:
    response = await post_strict(live, "{ " + "__typename " * 2000 + "}")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "message": "Syntax Error: Document contains more than 2000 tokens. Parsing aborted.",
            "locations": [{"line": 1, "column": 21992}],
        }
    ]


async def test_document_rules_share_rule_classes_and_the_validation_cache(
    resources: Resources,
) -> None:
    schema = build_schema()
    factory = next(e for e in schema.extensions if getattr(e, "__name__", "") == "factory")
    first, second = factory(), factory()
    assert isinstance(first, DocumentRules)
    assert isinstance(second, DocumentRules)
    assert first.rules is second.rules
    assert first.cached_validate is second.cached_validate
    before = first.cached_validate.cache_info()  # type: ignore[attr-defined]
    for _ in range(3):
        result = await schema.execute("{ __typename }", context_value=Context(resources))
        assert result.errors is None
    after = first.cached_validate.cache_info()  # type: ignore[attr-defined]
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 2)


# --- Fragments: each measured once -------------------------------------------------------


def doubling_fragments(count: int) -> str:
    """`count` fragments, each spreading the next one twice: about 40 bytes a fragment, and
    2**(count + 1) - 1 selections once written out."""
    fragments = [
        f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} id }}" for i in range(count - 1)
    ]
    return " ".join(["{ viewer { ...F0 } }", *fragments, f"fragment F{count - 1} on User {{ id }}"])


@pytest.mark.timeout(30)
async def test_fragments_spreading_each_other_are_refused_at_once(live: LiveApp) -> None:
    """Before: validation walked every spread (depth and alias rules), so 22 such fragments held
    the event loop 10 s and 50 would hold it for years; the document was then charged 1 point.
    Now it is measured in one pass and refused before any rule runs, /healthz answering
    meanwhile; nothing is charged."""
    started = time.perf_counter()
    refused, health = await asyncio.gather(
        post_strict(live, doubling_fragments(50)), live.http.get("/healthz")
    )
    assert time.perf_counter() - started < 2
    assert health.status_code == 200
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": [
            {
                "message": f"This document has {2**51 - 1} selections with its fragments written"
                " out wherever they are spread; at most 2000 are allowed (docs/query-cost.md).",
                "extensions": {"code": "MAX_SELECTIONS_EXCEEDED", "maximumSelections": 2000},
            }
        ]
    }
    assert await live.resources.redis.keys("qbudget:*") == []
    # Within the limit, the same shape is served (1023 selections written out).
    served = await post_strict(live, doubling_fragments(9))
    assert served.status_code == 200
    assert served.json()["data"] == {"viewer": None}


async def test_same_named_fields_compared_pairwise_are_refused_within_a_bounded_time(
    live: LiveApp,
) -> None:
    """graphql-core compares same-named fields pairwise; its default budget of work let this
    1,960-token document hold the event loop about 0.8 s. Ours stops it after a tenth."""
    query = "{ viewer { " + "followers { pageInfo { hasNextPage } } " * 280 + "} }"
    response = await post_strict(live, query)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Validation aborted."}]}


SMALL_LIMITS = {"max_depth": 4, "max_aliases": 3}
"""Limits small enough for the documents below to cross them."""

THROUGH_FRAGMENTS = [
    # Nested fragments, aliases in the inner one.
    "query Q { viewer { ...A } } fragment A on User { followers(first: 1) { edges { node {"
    " ...B } } } } fragment B on User { a: following(first: 1) { edges { node { b: id c: id"
    " } } } d: id }",
    # A fragment used at two depths: only the deeper use crosses the limit.
    "{ viewer { ...D following(first: 1) { edges { node { ...D } } } } } fragment D on User {"
    " followers(first: 1) { edges { node { id } } } }",
    # A shallow fragment before the deep field; inline fragments; introspection not counted.
    "{ viewer { ...S followers(first: 1) { edges { node { following(first: 1) { edges { node {"
    ' id } } } } } } } __schema { types { fields { type { name } } } } node(id: "x") { ... on'
    " User { x: id } } } fragment S on User { y: id }",
    # Two operations, each measured; repeated spreads count wherever they are.
    "query One { viewer { ...F0 } } query Two { viewer { ...F0 following(first: 1) { edges {"
    " node { ...F0 } } } } } fragment F0 on User { ...F1 ...F1 a: id } fragment F1 on User {"
    " ...F2 ...F2 b: id } fragment F2 on User { c: id followers(first: 1) { edges { node { id"
    " } } } }",
]


@pytest.mark.parametrize("query", THROUGH_FRAGMENTS)
def test_depth_and_aliases_through_fragments_are_strawberrys(
    graphql_schema: GraphQLSchema, query: str
) -> None:
    """The measured depth and alias errors are those of Strawberry's validators (which walk
    every spread): the same messages, and for depth the first location Strawberry reports in
    each operation."""
    document = parse(query)
    limits = dataclasses.replace(ApiLimits.from_settings(Settings()), **SMALL_LIMITS)
    ours = [
        (error.message, error.locations)
        for error in limits.measured_errors(DocumentMeasures(document))
    ]
    reference = validate(
        graphql_schema,
        document,
        [strawberry_depth_rule(4, should_ignore=None), strawberry_aliases_rule(3)],
    )
    first_per_message: dict[str, Any] = {}
    for error in reference:
        first_per_message.setdefault(error.message, error.locations)
    assert ours == list(first_per_message.items())
    assert ours  # every document crosses a limit


def test_measures_count_each_fragment_wherever_it_is_spread() -> None:
    measures = DocumentMeasures(parse(THROUGH_FRAGMENTS[3]))
    # F2: c, followers, edges, node, id = 5; F1: 2 x (spread + 5) + b = 13; F0: 2 x 14 + 1 = 29.
    # One: viewer + spread + 29 = 31; Two: viewer, spread + 29, following, edges, node,
    # spread + 29 = 64.
    assert [(o.name, o.measures.selections) for o in measures.operations] == [
        ("One", 31),
        ("Two", 64),
    ]
    assert measures.selections == 95
    # F2: 1 alias, F1: 2 + 1 = 3, F0: 6 + 1 = 7; One: 7, Two: 14.
    assert [o.measures.aliases for o in measures.operations] == [7, 14]
    # F2's followers/edges/node: 3; Two: viewer, following/edges/node, then F0 down to F2's 3.
    assert [o.measures.depth for o in measures.operations] == [4, 7]
    limits = ApiLimits.from_settings(Settings())
    assert dataclasses.replace(limits, max_selections=95).too_many_selections(measures) is None
    error = dataclasses.replace(limits, max_selections=94).too_many_selections(measures)
    assert error is not None
    assert error.extensions == {"code": "MAX_SELECTIONS_EXCEEDED", "maximumSelections": 94}


# --- `first` on every connection ----------------------------------------------------------


def fields_taking_first(schema: GraphQLSchema) -> list[tuple[str, str]]:
    """(type, field) of every field with a `first` argument."""
    found = []
    for name, named in schema.type_map.items():
        if name.startswith("__") or not is_object_type(named):
            continue
        for field_name, field in named.fields.items():
            if "first" in field.args:
                found.append((name, field_name))
    return sorted(found)


def query_reaching(schema: GraphQLSchema, target: tuple[str, str], first: str) -> str:
    """A query selecting `target` with `first: <first>`, by the shortest path from Query (the
    limit is checked before anything runs, so the objects on the path need not exist)."""
    queue: deque[tuple[str, list[str]]] = deque([("Query", [])])
    seen = {"Query"}
    while queue:
        type_name, path = queue.popleft()
        for field_name, field in schema.type_map[type_name].fields.items():  # type: ignore[attr-defined]
            required = [
                f'{arg}: "x"'
                for arg, definition in field.args.items()
                if str(definition.type) in ("String!", "ID!")
            ]
            if (type_name, field_name) == target:
                text = f"{field_name}({', '.join([f'first: {first}', *required])}) {{ __typename }}"
                for step in reversed(path):
                    text = f"{step} {{ {text} }}"
                return (
                    f"query Q($first: Int) {{ {text} }}" if first == "$first" else f"{{ {text} }}"
                )
            child = get_named_type(field.type)
            if is_object_type(child) and child.name not in seen:
                seen.add(child.name)
                step = f"{field_name}({', '.join(required)})" if required else field_name
                queue.append((child.name, [*path, step]))
    raise AssertionError(f"no path to {target}")


def test_every_field_taking_first_is_known(graphql_schema: GraphQLSchema) -> None:
    assert fields_taking_first(graphql_schema) == [
        ("Hashtag", "posts"),
        ("Post", "comments"),
        ("Post", "likers"),
        ("Query", "explore"),
        ("Query", "feed"),
        ("Query", "moderationAppeals"),
        ("Query", "moderationAuditLog"),
        ("Query", "moderationQueue"),
        ("Query", "notifications"),
        ("Query", "search"),
        ("SearchResults", "posts"),
        ("User", "blockedUsers"),
        ("User", "followRequests"),
        ("User", "followers"),
        ("User", "following"),
        ("User", "mutedUsers"),
        ("User", "posts"),
    ]


@pytest.mark.parametrize(
    ("value", "variable"),
    [("101", None), ("-1", None), ("0", None), ("$first", MAX_PAGE_SIZE + 1), ("$first", 0)],
)
async def test_every_connection_refuses_first_out_of_range_before_running(
    live: LiveApp, graphql_schema: GraphQLSchema, value: str, variable: int | None
) -> None:
    """`first` is 1..100 everywhere: 0 too is refused (nothing asks for an empty page)."""
    for target in fields_taking_first(graphql_schema):
        query = query_reaching(graphql_schema, target, value)
        response = await live.http.post(
            "/graphql",
            json={"query": query, "variables": {"first": variable}},
            headers=STRICT,
        )
        shown = str(variable) if value == "$first" else value
        assert response.status_code == 400, query
        body = response.json()
        assert "data" not in body
        [error] = body["errors"]
        assert error["message"] == (
            f"`first` on `{target[0]}.{target[1]}` must be between 1 and {MAX_PAGE_SIZE} "
            f"(got {shown})."
        )
        assert error["extensions"] == {"code": "BAD_USER_INPUT"}


def lists_without_bounds(schema: GraphQLSchema) -> list[str]:
    """`Type.field` of every list of objects in the schema that is neither the edges of a
    connection nor in LIST_BOUNDS (each counts DEFAULT_LIST_SIZE items: give it a bound)."""
    missing = []
    for type_name, named in schema.type_map.items():
        if type_name.startswith("__") or not is_object_type(named):
            continue
        for field_name, field in named.fields.items():
            nullable = get_nullable_type(field.type)
            if not is_list_type(nullable) or is_leaf_type(get_named_type(field.type)):
                continue
            if type_name.endswith("Connection"):
                continue
            if (type_name, field_name) in LIST_BOUNDS or ("*", field_name) in LIST_BOUNDS:
                continue
            missing.append(f"{type_name}.{field_name}")
    return sorted(missing)


def test_every_list_of_objects_has_a_cost_bound(graphql_schema: GraphQLSchema) -> None:
    assert lists_without_bounds(graphql_schema) == []


# --- The cost model -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        ("{ __typename }", None, 0),
        ("{ viewer { id username } }", None, 1),
        (FEED, {"first": 20}, 1 + 20 * FEED_COST_PER_POST),
        (FEED, {"first": 100}, 1 + 100 * FEED_COST_PER_POST),
        (FEED, {"first": 20.0}, 1 + 20 * FEED_COST_PER_POST),
        # Defaults: the variable's, else the argument's (feed: 20, likers: 20).
        ("query($n: Int = 5) { feed(first: $n) { edges { node { id } } } }", None, 1 + 5),
        ("{ feed { edges { cursor node { id } } pageInfo { hasNextPage } } }", None, 1 + 20),
        # Nested connections multiply; scalars and wrappers are free.
        (
            '{ user(username: "a") { followers(first: 10) { edges { node {'
            " posts(first: 5) { edges { node { id } } } } } } } }",
            None,
            1 + 1 + 10 * (1 + 1 + 5 * 1),
        ),
        # Fragments and inline fragments count like fields written in place, merged like the
        # executor merges them (a repeated fragment counts once).
        (
            "fragment F on Post { author { id } } { feed(first: 4) { edges { node { ...F ...F"
            " ... on Post { ...F id } } } } }",
            None,
            1 + 4 * (1 + 1),
        ),
        # Nested fragments, one used at two depths, cost as if written in place.
        (
            "fragment P on Post { author { id } } fragment U on User { posts(first: 3) { edges {"
            " node { ...P } } } } { viewer { ...U following(first: 2) { edges { node { ...U } } }"
            " } }",
            None,
            1 + (1 + 3 * (1 + 1)) + (1 + 2 * (1 + (1 + 3 * (1 + 1)))),
        ),
        (
            "{ viewer { posts(first: 3) { edges { node { author { id } } } } following(first: 2)"
            " { edges { node { posts(first: 3) { edges { node { author { id } } } } } } } } }",
            None,
            1 + (1 + 3 * (1 + 1)) + (1 + 2 * (1 + (1 + 3 * (1 + 1)))),
        ),
        # Abstract types: the most expensive possible type.
        (
            'query { node(id: "x") { ... on User { followers(first: 5) { edges { node { id } } } }'
            " ... on Post { likers(first: 30) { edges { node { id } } } } } }",
            None,
            1 + 1 + 30,
        ),
        # Aliases are separate fields.
        (
            "{ a: feed(first: 10) { edges { node { id } } } b: feed(first: 10) { edges { node"
            " { id } } } }",
            None,
            2 * (1 + 10),
        ),
        # search's `first` bounds its users and hashtags; its posts are a connection.
        (
            'query($f: Int) { search(query: "a", first: $f) { users { id } hashtags { name }'
            " posts(first: 2) { edges { node { id } } } } }",
            {"f": 30},
            1 + 30 + 30 + (1 + 2),
        ),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["a", "b", "c"]}, 3),
        # A mutation field costs 10, plus its payload.
        (
            'mutation { followUser(input: {userId: "x"}) { user { id } userErrors { code } } }',
            None,
            10 + 1 + 3,
        ),
        ("{ __schema { types { name fields { name } } } }", None, 1),
    ],
)
def test_costs(
    graphql_schema: GraphQLSchema, query: str, variables: dict[str, Any] | None, expected: int
) -> None:
    assert cost(graphql_schema, query, variables) == expected


def test_plans_are_cached_per_document_and_operation(graphql_schema: GraphQLSchema) -> None:
    model = CostModel(maxsize=2)
    document = parse(FEED)
    plan = model.plan(graphql_schema, FEED, document, None)
    assert model.plan(graphql_schema, FEED, document, None) is plan
    assert model.plan(graphql_schema, FEED, document, "Feed") is not plan
    model.plan(graphql_schema, "{ __typename }", parse("{ __typename }"), None)
    assert model.plan(graphql_schema, FEED, document, None) is not plan  # evicted (LRU of 2)


# --- extensions.cost, the per-request maximum, the budget ---------------------------------


async def test_every_response_reports_its_cost_and_the_budget(
    settings: Settings, clean: Resources
) -> None:
    async with app_with(settings, clean, query_cost_in_extensions=True) as app:
        token = (await sign_up(app, "carol"))["accessToken"]
        body = await app.graphql(FEED, {"first": 20}, token=token)
        assert body == {
            "data": {"feed": {"edges": []}},
            "extensions": {
                "cost": {
                    "requestedQueryCost": 1 + 20 * FEED_COST_PER_POST,
                    "actualQueryCost": 1,  # the connection, empty
                    "throttleStatus": {
                        "maximumAvailable": 10_000,
                        "currentlyAvailable": 10_000 - (1 + 20 * FEED_COST_PER_POST),
                        "restoreRate": 200,
                    },
                }
            },
        }


async def test_an_operation_over_the_maximum_cost_fails_before_running(
    settings: Settings, clean: Resources
) -> None:
    # signUp costs 14: 10 (a mutation field, its payload included) + 1 (viewer) + 3 (userErrors)
    async with app_with(settings, clean, query_cost_in_extensions=True, query_max_cost=14) as app:
        alice = await sign_up(app, "alice")
        bob = await sign_up(app, "bob")
        # 10 (the mutation field) + 1 (user) + 1 (viewer) + 3 (up to three userErrors) = 15
        follow = {
            "query": "mutation($id: ID!) { followUser(input: {userId: $id}) {"
            " user { id viewerIsFollowing } viewer { id } userErrors { code } } }",
            "variables": {"id": bob["viewer"]["id"]},
        }
        response = await app.http.post(
            "/graphql",
            json=follow,
            headers=STRICT | {"authorization": f"Bearer {alice['accessToken']}"},
        )
        assert response.status_code == 400
        assert response.json() == {
            "errors": [
                {
                    "message": "This operation costs 15 points; at most 14 are allowed per "
                    "request (docs/query-cost.md). Ask for fewer items (`first`) or fewer fields.",
                    "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 15, "maximumCost": 14},
                }
            ],
            "extensions": {
                "cost": {
                    "requestedQueryCost": 15,
                    "actualQueryCost": None,  # nothing ran
                    "throttleStatus": {
                        "maximumAvailable": 10_000,
                        "currentlyAvailable": 10_000,
                        "restoreRate": 200,
                    },
                }
            },
        }
        assert await clean.db.fetchval("SELECT count(*) FROM follows") == 0
        legacy = await app.http.post(
            "/graphql",
            json=follow,
            headers={"authorization": f"Bearer {alice['accessToken']}"},
        )
        assert legacy.status_code == 200  # application/json: a request error is still a 200
        assert legacy.json()["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


async def test_an_exhausted_budget_throttles_with_429_and_changes_nothing(
    settings: Settings, clean: Resources
) -> None:
    async with app_with(
        settings,
        clean,
        query_cost_in_extensions=True,
        query_budget_points=60,
        query_budget_restore_rate=1,
    ) as app:
        alice = await sign_up(app, "alice")
        bob = await sign_up(app, "bob")
        token = alice["accessToken"]
        spent = await app.graphql(
            "{ viewer { followers(first: 50) { edges { node { id } } } } }", token=token
        )
        assert spent["extensions"]["cost"]["requestedQueryCost"] == 52
        follow = {  # 10 + 3 = 13 points; about 8 are left
            "query": "mutation($id: ID!) { followUser(input: {userId: $id}) {"
            " userErrors { code } } }",
            "variables": {"id": bob["viewer"]["id"]},
        }
        response = await app.http.post(
            "/graphql", json=follow, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 429
        body = response.json()
        available = body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
        assert 8 <= available < 13
        assert response.headers["retry-after"] == str(math.ceil(13 - available))
        [error] = body["errors"]
        assert error["extensions"]["code"] == "THROTTLED"
        assert "data" not in body
        assert await clean.db.fetchval("SELECT count(*) FROM follows") == 0
        # Anonymous requests spend the client address's budget, not alice's.
        anonymous = await app.graphql('{ user(username: "bob") { id } }')
        assert anonymous["extensions"]["cost"]["requestedQueryCost"] == 1
        assert anonymous["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] >= 20
        # A publicly cacheable answer (anonymous GET) shows no client's budget.
        cached = await app.http.get(
            "/graphql", params={"query": '{ user(username: "bob") { id } }'}
        )
        assert cached.headers["cache-control"] == "public, max-age=60"
        assert cached.json()["extensions"] == {
            "cost": {"requestedQueryCost": 1, "actualQueryCost": 1}
        }


async def test_without_the_budget_nothing_is_kept_in_redis(
    settings: Settings, clean: Resources
) -> None:
    async with app_with(
        settings, clean, query_cost_in_extensions=True, query_budget_enabled=False
    ) as app:
        body = await app.graphql("{ viewer { id } }")
        assert body == {
            "data": {"viewer": None},
            "extensions": {
                "cost": {"requestedQueryCost": 1, "actualQueryCost": 0, "throttleStatus": None}
            },
        }
        assert await clean.redis.keys("qbudget:*") == []


@pytest.mark.parametrize("budget_enabled", [True, False])
async def test_a_revoked_session_is_refused_and_its_request_pays_as_anonymous(
    settings: Settings, clean: Resources, budget_enabled: bool
) -> None:
    """The token's session is checked in the budget's own Redis call (or alone without a
    budget): once revoked, the request runs anonymously, fields computed for the viewer
    included, and the client address's budget pays for it, not the user's."""
    query = "query P($id: ID!) { post(id: $id) { viewerHasLiked } viewer { username } }"
    async with app_with(settings, clean, query_budget_enabled=budget_enabled) as app:
        token = (await sign_up(app, "dora"))["accessToken"]
        user_id = await clean.db.fetchval("SELECT id FROM users WHERE username = 'dora'")
        post_id = await insert_post(clean.db, user_id, datetime.now(UTC))
        await insert_like(clean.db, post_id, user_id, datetime.now(UTC))
        variables = {"id": encode_global_id("Post", post_id)}
        signed_in = await app.graphql(query, variables, token=token)
        assert signed_in == {
            "data": {"post": {"viewerHasLiked": True}, "viewer": {"username": "dora"}}
        }
        await app.graphql("mutation { logOut(input: {}) { ok } }", token=token)
        for key in await clean.redis.keys("qbudget:*"):
            await clean.redis.delete(key)

        revoked = await app.graphql(query, variables, token=token)
        assert revoked["data"] == {"post": {"viewerHasLiked": False}, "viewer": None}
        assert [error["message"] for error in revoked["errors"]] == [
            "Not signed in: the session of this access token has ended."
        ]
        budgets = [key.decode() for key in await clean.redis.keys("qbudget:*")]
        assert budgets == (["qbudget:{ip:127.0.0.1}"] if budget_enabled else [])


# --- Exposure: introspection and field suggestions ----------------------------------------


async def run(schema: Any, resources: Resources, query: str, **variables: Any) -> Any:
    return await schema.execute(query, variable_values=variables, context_value=Context(resources))


@pytest.mark.parametrize(
    "query", ["{ __schema { queryType { name } } }", '{ __type(name: "User") { name } }']
)
async def test_introspection_can_be_turned_off(
    settings: Settings, resources: Resources, query: str
) -> None:
    on = await run(build_schema(settings), resources, query)
    assert on.errors is None
    closed = build_schema(settings.model_copy(update={"introspection_enabled": False}))
    off = await run(closed, resources, query)
    assert off.data is None
    fields = ["__schema", "queryType"] if "__schema" in query else ["__type"]
    assert [e.message for e in off.errors] == [
        "GraphQL introspection has been disabled, but the requested query contained the field"
        f" '{field}'."
        for field in fields
    ]
    # __typename is not introspection of the schema: it stays.
    typename = await run(closed, resources, "{ __typename }")
    assert typename.data == {"__typename": "Query"}


@pytest.mark.parametrize(
    ("query", "variables", "with_suggestion", "without"),
    [
        (
            "{ viewr { id } }",
            {},
            "Cannot query field 'viewr' on type 'Query'. Did you mean 'viewer' or 'user'?",
            "Cannot query field 'viewr' on type 'Query'.",
        ),
        (
            "{ feed(frist: 2) { edges { cursor } } }",
            {},
            "Unknown argument 'frist' on field 'Query.feed'. Did you mean 'first'?",
            "Unknown argument 'frist' on field 'Query.feed'.",
        ),
        (
            "{ feed(order: RANKD) { edges { cursor } } }",
            {},
            "Value 'RANKD' does not exist in 'FeedOrder' enum. Did you mean the enum value"
            " 'RANKED'?",
            "Value 'RANKD' does not exist in 'FeedOrder' enum.",
        ),
        (
            "query($o: FeedOrder!) { feed(order: $o) { edges { cursor } } }",
            {"o": "RANKD"},
            "Variable '$o' has invalid value: Value 'RANKD' does not exist in 'FeedOrder' enum."
            " Did you mean the enum value 'RANKED'?",
            "Variable '$o' has invalid value: Value 'RANKD' does not exist in 'FeedOrder' enum.",
        ),
    ],
)
async def test_field_suggestions_can_be_turned_off(
    settings: Settings,
    resources: Resources,
    query: str,
    variables: dict[str, Any],
    with_suggestion: str,
    without: str,
) -> None:
    on = await run(build_schema(settings), resources, query, **variables)
    assert [e.message for e in on.errors] == [with_suggestion]
    quiet = build_schema(settings.model_copy(update={"field_suggestions_enabled": False}))
    off = await run(quiet, resources, query, **variables)
    assert [e.message for e in off.errors] == [without]
