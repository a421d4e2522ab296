"""Automatic persisted queries (Apollo's protocol) over POST and GET, and HTTP caching."""

from __future__ import annotations

import hashlib
import json

from tests.api.helpers import sign_up
from tests.conftest import LiveApp

QUERY = "query User($n: String!) { user(username: $n) { username } }"
QUERY_HASH = hashlib.sha256(QUERY.encode()).hexdigest()
NOT_FOUND = {
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
}


def persisted(sha256_hex: str = QUERY_HASH, version: int = 1) -> dict[str, object]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256_hex}}


async def stored(live: LiveApp, sha256_hex: str = QUERY_HASH) -> bytes | None:
    value: bytes | None = await live.resources.redis.get(f"apq:{sha256_hex}")
    return value


async def test_unknown_hash_asks_for_the_document_then_registration_then_hash_only(
    live: LiveApp,
) -> None:
    await sign_up(live, "erin")
    variables = {"n": "erin"}
    miss = await live.http.post(
        "/graphql", json={"variables": variables, "extensions": persisted()}
    )
    assert (miss.status_code, miss.json()) == (200, NOT_FOUND)
    assert miss.headers["cache-control"] == "private, no-store"
    assert await stored(live) is None

    registered = await live.http.post(
        "/graphql", json={"query": QUERY, "variables": variables, "extensions": persisted()}
    )
    assert registered.json() == {"data": {"user": {"username": "erin"}}}
    assert await stored(live) == QUERY.encode()
    ttl = await live.resources.redis.ttl(f"apq:{QUERY_HASH}")
    assert 7 * 24 * 3600 - 5 <= ttl <= 7 * 24 * 3600

    hit = await live.http.post(
        "/graphql", json={"variables": variables, "extensions": persisted(QUERY_HASH.upper())}
    )
    assert hit.json() == {"data": {"user": {"username": "erin"}}}


async def test_a_hash_that_does_not_match_the_document_is_refused(live: LiveApp) -> None:
    wrong = hashlib.sha256(b"{ __typename }").hexdigest()
    response = await live.http.post(
        "/graphql", json={"query": QUERY, "variables": {"n": "x"}, "extensions": persisted(wrong)}
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"message": "provided sha does not match query", "extensions": {"code": "BAD_REQUEST"}}
        ]
    }
    assert await stored(live, wrong) is None
    assert await stored(live) is None


async def test_other_versions_and_malformed_hashes_are_refused(live: LiveApp) -> None:
    for extensions, message in [
        (persisted(version=2), "Unsupported persisted query version"),
        (persisted("abc"), "`persistedQuery.sha256Hash` must be 64 hexadecimal digits."),
        ({"persistedQuery": "x"}, "`extensions.persistedQuery` must be an object."),
    ]:
        response = await live.http.post(
            "/graphql", json={"query": QUERY, "variables": {"n": "x"}, "extensions": extensions}
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["message"] == message
    assert await live.resources.redis.keys("apq:*") == []


async def test_documents_that_do_not_validate_are_not_registered(live: LiveApp) -> None:
    invalid = "{ zzz }"
    sha = hashlib.sha256(invalid.encode()).hexdigest()
    response = await live.http.post(
        "/graphql", json={"query": invalid, "extensions": persisted(sha)}
    )
    assert response.json()["errors"][0]["message"] == "Cannot query field 'zzz' on type 'Query'."
    assert await stored(live, sha) is None


async def test_anonymous_get_of_a_persisted_query_is_publicly_cacheable(live: LiveApp) -> None:
    await sign_up(live, "erin")
    await live.http.post(
        "/graphql", json={"query": QUERY, "variables": {"n": "erin"}, "extensions": persisted()}
    )
    params = {"variables": json.dumps({"n": "erin"}), "extensions": json.dumps(persisted())}
    # A browser-like Accept would show GraphiQL if `extensions` were not taken into account.
    anonymous = await live.http.get("/graphql", params=params, headers={"accept": "*/*"})
    assert anonymous.status_code == 200
    assert anonymous.json() == {"data": {"user": {"username": "erin"}}}
    assert anonymous.headers["cache-control"] == "public, max-age=60"
    assert anonymous.headers["vary"] == "Accept, Authorization"

    token = (await sign_up(live, "frank"))["accessToken"]
    signed_in = await live.http.get(
        "/graphql", params=params, headers={"authorization": f"Bearer {token}"}
    )
    assert signed_in.json() == {"data": {"user": {"username": "erin"}}}
    assert signed_in.headers["cache-control"] == "private, no-store"

    failing = await live.http.get("/graphql", params={"query": "{ feed { edges { cursor } } }"})
    assert failing.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert failing.headers["cache-control"] == "private, no-store"

    posted = await live.http.post(
        "/graphql", json={"variables": {"n": "erin"}, "extensions": persisted()}
    )
    assert posted.headers["cache-control"] == "private, no-store"


async def test_unknown_hash_over_get_is_not_cacheable(live: LiveApp) -> None:
    response = await live.http.get(
        "/graphql", params={"extensions": json.dumps(persisted())}, headers={"accept": "*/*"}
    )
    assert (response.status_code, response.json()) == (200, NOT_FOUND)
    assert response.headers["cache-control"] == "private, no-store"


async def test_a_persisted_mutation_is_still_refused_over_get(live: LiveApp) -> None:
    mutation = "mutation { logOut(input: {}) { ok } }"
    sha = hashlib.sha256(mutation.encode()).hexdigest()
    await live.resources.redis.set(f"apq:{sha}", mutation)
    response = await live.http.get("/graphql", params={"extensions": json.dumps(persisted(sha))})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert await live.resources.db.fetchval("SELECT count(*) FROM sessions") == 0
