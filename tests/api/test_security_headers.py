"""Security headers on every HTTP response (API, GraphiQL, assets, media, refusals), HSTS only
when configured, and CORS driven by ALLOWED_ORIGINS (none, a list, or any origin)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from resources import Resources
from settings import Settings
from tests.api.configured import app_with
from tests.conftest import LiveApp
from web.security import API_CSP, GRAPHIQL_CSP

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
CORS_HEADERS = {
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
    "access-control-allow-credentials",
}


def assert_security_headers(
    response: httpx.Response, *, csp: str = API_CSP, resource_policy: str = "same-origin"
) -> None:
    for name, value in COMMON.items():
        assert response.headers.get_list(name) == [value], name
    assert response.headers.get_list("content-security-policy") == [csp]
    assert response.headers.get_list("cross-origin-resource-policy") == [resource_policy]
    assert "strict-transport-security" not in response.headers


async def send_preflight(
    http: httpx.AsyncClient,
    *,
    origin: str = "https://app.example",
    method: str = "POST",
    request_headers: str = "authorization, content-type",
) -> httpx.Response:
    """An OPTIONS preflight for POST /graphql, as a browser sends it."""
    return await http.options(
        "/graphql",
        headers={
            "origin": origin,
            "access-control-request-method": method,
            "access-control-request-headers": request_headers,
        },
    )


async def test_api_responses_and_refusals_carry_the_security_headers(live: LiveApp) -> None:
    ok = await live.http.post("/graphql", json={"query": "{ __typename }"})
    assert ok.json() == {"data": {"__typename": "Query"}}
    assert_security_headers(ok)
    invalid = await live.http.post("/graphql", json={"query": "{ nope }"})
    message = invalid.json()["errors"][0]["message"]
    assert message.startswith("Cannot query field 'nope' on type 'Query'.")
    assert_security_headers(invalid)
    for path in ("/healthz", "/readyz", "/no-such-page"):
        assert_security_headers(await live.http.get(path))


async def test_graphiql_gets_its_own_strict_policy(live: LiveApp) -> None:
    page = await live.http.get("/graphql", headers={"accept": "text/html"})
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert_security_headers(page, csp=GRAPHIQL_CSP)
    assert "'unsafe-inline'" not in GRAPHIQL_CSP
    assert "script-src 'self';" in GRAPHIQL_CSP
    # The page has no inline script, loads only same-origin assets, and those get headers too.
    script = await live.http.get("/graphiql/static/boot.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert_security_headers(script)


async def test_local_media_are_sniff_proof_typed_and_embeddable_cross_origin(
    live: LiveApp,
) -> None:
    await live.resources.blobs.put(
        "media/m1/320.jpg", b"\xff\xd8\xff fake", content_type="image/jpeg", cache_control="public"
    )
    media = await live.http.get("/media/m1/320.jpg")
    assert media.status_code == 200
    assert media.headers["content-type"] == "image/jpeg"
    assert_security_headers(media, resource_policy="cross-origin")
    missing = await live.http.get("/media/m1/none.jpg")
    assert missing.status_code == 404
    assert_security_headers(missing, resource_policy="cross-origin")


async def test_no_cors_headers_without_allowed_origins(live: LiveApp) -> None:
    preflight = await send_preflight(live.http)
    assert preflight.status_code == 405
    assert CORS_HEADERS.isdisjoint(preflight.headers)
    actual = await live.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"origin": "https://app.example"}
    )
    assert actual.status_code == 200
    assert CORS_HEADERS.isdisjoint(actual.headers)


@pytest.fixture
async def cors_app(settings: Settings, clean: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with app_with(
        settings, clean, allowed_origins=["https://app.example"], hsts_enabled=True
    ) as served:
        yield served.http


async def test_cors_for_an_allowed_origin(cors_app: httpx.AsyncClient) -> None:
    preflight = await send_preflight(cors_app)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-methods"] == "GET, POST"
    assert preflight.headers["access-control-allow-headers"] == (
        "Accept, Accept-Language, Authorization, Content-Language, Content-Type"
    )
    assert preflight.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in preflight.headers
    assert preflight.headers["x-content-type-options"] == "nosniff"

    actual = await cors_app.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"origin": "https://app.example"}
    )
    assert actual.json() == {"data": {"__typename": "Query"}}
    assert actual.headers["access-control-allow-origin"] == "https://app.example"
    assert actual.headers["access-control-expose-headers"] == "X-Request-ID"
    assert "Origin" in actual.headers["vary"].split(", ")


async def test_cors_refuses_other_origins_methods_and_headers(
    cors_app: httpx.AsyncClient,
) -> None:
    for origin, method, headers in (
        ("https://evil.example", "POST", "content-type"),
        ("https://app.example", "DELETE", "content-type"),
        ("https://app.example", "POST", "x-custom"),
    ):
        preflight = await send_preflight(
            cors_app, origin=origin, method=method, request_headers=headers
        )
        assert preflight.status_code == 400, (origin, method, headers)
        assert preflight.text.startswith("Disallowed CORS ")
        if origin != "https://app.example":
            assert "access-control-allow-origin" not in preflight.headers
    actual = await cors_app.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"origin": "https://evil.example"}
    )
    assert actual.status_code == 200  # served (CORS binds browsers), but not readable by them
    assert "access-control-allow-origin" not in actual.headers


async def test_hsts_only_when_enabled(cors_app: httpx.AsyncClient, live: LiveApp) -> None:
    enabled = await cors_app.get("/healthz")
    assert enabled.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in (await live.http.get("/healthz")).headers


async def test_any_origin_without_credentials(settings: Settings, clean: Resources) -> None:
    async with app_with(settings, clean, allowed_origins=["*"]) as served:
        preflight = await send_preflight(
            served.http, origin="https://anyone.example", request_headers="authorization"
        )
        actual = await served.http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"origin": "https://anyone.example"},
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in preflight.headers
    assert actual.headers["access-control-allow-origin"] == "*"
