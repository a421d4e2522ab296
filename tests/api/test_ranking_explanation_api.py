"""`Post.rankingExplanation` over HTTP: the owner of the feed that served a post learns why;
anyone else (and anonymous callers) get null; a page of explanations is batched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schema.global_ids import encode_global_id
from services.feed.features import FORMULA_WEIGHTS
from tests.api.helpers import sign_up
from tests.api.test_feed_api import user_id
from tests.conftest import LiveApp
from tests.feed_factories import insert_follows, insert_post

FEED = """
query Feed { feed(first: 5) { edges { node { id
  rankingExplanation { ranker modelVersion score baseline
                       contributions { feature value contribution } } } } } }
"""
POST = """
query P($id: ID!) { node(id: $id) { ... on Post { id rankingExplanation { score } } } }
"""


async def test_the_feed_owner_gets_why_a_post_is_there_and_nobody_else_does(
    live: LiveApp,
) -> None:
    owner = await sign_up(live, "owner")
    other = await sign_up(live, "other")
    author = await sign_up(live, "author")
    owner_id, other_id, author_id = [
        await user_id(live, name) for name in ("owner", "other", "author")
    ]
    await insert_follows(live.resources.db, [(owner_id, author_id), (other_id, author_id)])
    now = datetime.now(UTC)
    posts = [
        await insert_post(live.resources.db, author_id, now - timedelta(hours=h), likes=h)
        for h in (1, 3, 9)
    ]
    assert author["accessToken"]

    body = await live.graphql(FEED, token=owner["accessToken"])
    edges = body["data"]["feed"]["edges"]
    assert [edge["node"]["id"] for edge in edges] == [encode_global_id("Post", p) for p in posts]
    weights = dict(zip(("recency", "velocity", "affinity", "seen"), FORMULA_WEIGHTS, strict=False))
    for edge in edges:
        explanation = edge["node"]["rankingExplanation"]
        assert explanation["ranker"] == "formula"
        assert explanation["modelVersion"] is None
        assert explanation["baseline"] == 0
        parts = explanation["contributions"]
        assert parts[0]["feature"] == "recency"  # the formula's weightiest here
        for part in parts:
            assert part["contribution"] == weights.get(part["feature"], 0) * part["value"]
        total = sum(part["contribution"] for part in parts)
        assert abs(explanation["score"] - total) < 1e-4  # the zero-weight features add nothing

    # The same post asked by its id: the owner sees the explanation, the other viewer (whose
    # feed has not served it) and an anonymous caller get null.
    variables = {"id": encode_global_id("Post", posts[0])}
    mine = await live.graphql(POST, variables, token=owner["accessToken"])
    assert (
        mine["data"]["node"]["rankingExplanation"]["score"]
        == (edges[0]["node"]["rankingExplanation"]["score"])
    )
    theirs = await live.graphql(POST, variables, token=other["accessToken"])
    assert theirs["data"]["node"] == {"id": variables["id"], "rankingExplanation": None}
    anonymous = await live.graphql(POST, variables)
    assert anonymous["data"]["node"] == {"id": variables["id"], "rankingExplanation": None}
