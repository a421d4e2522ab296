"""The real GraphiQL page in headless Chromium against the live app: a subscription typed in the
editor runs over graphql-transport-ws with the Headers tab as its connection parameters, its
event shows in the result pane, the stop button completes it on the server, and a query in the
same editor still goes over HTTP. Nothing is requested from another host.

Needs Debian's `chromium` (`.ci/run` installs it when missing); skipped where it is absent.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Request, Route, WebSocket, async_playwright, expect

from schema.global_ids import decode_id_of_type
from services import follows
from storage import redis_keys
from storage.pubsub import EventHub
from tests.api.helpers import sign_up
from tests.conftest import LiveApp
from tests.factories import make_user, viewer_of

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"
)

SUBSCRIPTION = "subscription { notificationReceived { kind actorCount actor { username } } }"
BOTH = """query Me { viewer { username } }

subscription Live { notificationReceived { kind actorCount actor { username } } }
"""
WAIT_MS = 15_000


async def set_editor(page: Page, selector: str, text: str) -> None:
    """Replace the text of the CodeMirror editor under `selector` (as pasting would)."""
    await page.locator(f"{selector} .CodeMirror").first.evaluate(
        "(element, text) => element.CodeMirror.setValue(text)", text
    )


async def result_pane(page: Page) -> Any:
    """The JSON shown in GraphiQL's result pane."""
    text = await page.locator(".result-window .CodeMirror").evaluate(
        "element => element.CodeMirror.getValue()"
    )
    return json.loads(text)


async def type_and_run(page: Page, text: str) -> None:
    """Put `text` in the query editor and press the run button in the same instant, as a user
    who runs right after typing: GraphiQL re-parses the editor 100 ms after the last change."""
    await page.locator(".graphiql-query-editor .CodeMirror").first.evaluate(
        """(element, text) => {
            element.CodeMirror.setValue(text);
            document.querySelector(".graphiql-execute-button").click();
        }""",
        text,
    )


async def run_from_menu(page: Page, text: str, name: str) -> None:
    """Put `text` (several operations) in the query editor, press run once GraphiQL has parsed
    it, and pick the operation `name` in the menu it shows."""
    await set_editor(page, ".graphiql-query-editor", text)
    await page.wait_for_function(
        "() => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
        ".operations?.length === 2"
    )
    await page.locator(".graphiql-execute-button").click()
    await page.get_by_role("menuitem", name=name, exact=True).click()


def listeners_on(hub: EventHub, channel: str) -> int:
    """How many in-process listeners the app's event hub has on `channel` (the socket's
    session watch is one; each running notificationReceived is another)."""
    return hub.listener_count(channel)


async def until_listeners(hub: EventHub, channel: str, count: int) -> None:
    """Wait (at most WAIT_MS) until the hub has exactly `count` listeners on `channel`."""
    for _ in range(WAIT_MS // 10):
        if listeners_on(hub, channel) == count:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"{channel} has {listeners_on(hub, channel)} listeners, not {count}")


async def test_graphiql_runs_a_subscription_over_the_websocket_and_a_query_over_http(
    live: LiveApp,
) -> None:
    assert CHROMIUM is not None
    signed_up = await sign_up(live, "wendy")
    wendy_id = decode_id_of_type(signed_up["viewer"]["id"], "User")
    assert wendy_id is not None
    fan = await make_user(live.resources.db, "fan")
    channel = redis_keys.user_events_channel(wendy_id)
    origin = urlsplit(live.base_url).netloc

    foreign: list[str] = []
    posted: list[str] = []
    sockets: list[WebSocket] = []

    async def same_origin_only(route: Route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            await route.continue_()
        else:
            foreign.append(route.request.url)
            await route.abort()

    def on_request(request: Request) -> None:
        if request.method == "POST":
            posted.append(json.loads(request.post_data or "{}").get("operationName") or "")

    sent: list[dict[str, Any]] = []  # the frames the page sends on its sockets

    def on_websocket(socket: WebSocket) -> None:
        sockets.append(socket)
        socket.on("framesent", lambda frame: sent.append(json.loads(frame)))
        if urlsplit(socket.url).netloc != origin:
            foreign.append(socket.url)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = await browser.new_page()
            page.set_default_timeout(WAIT_MS)
            await page.route("**/*", same_origin_only)
            page.on("request", on_request)
            page.on("websocket", on_websocket)
            await page.goto(f"{live.base_url}/graphql")

            await page.locator(".graphiql-editor-tools").get_by_text("Headers", exact=True).click()
            headers = json.dumps({"Authorization": f"Bearer {signed_up['accessToken']}"})
            await set_editor(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden)", headers)

            async with page.expect_websocket(timeout=WAIT_MS) as opened:
                await type_and_run(page, SUBSCRIPTION)
            socket = await opened.value
            # The subscription is live once the app listens for it (besides the session watch).
            await until_listeners(live.resources.events, channel, 2)

            await follows.follow_user(live.resources.social, viewer_of(fan), wendy_id)
            await expect(page.locator(".result-window")).to_contain_text("FOLLOW", timeout=WAIT_MS)
            assert await result_pane(page) == {
                "data": {
                    "notificationReceived": {
                        "kind": "FOLLOW",
                        "actorCount": 1,
                        "actor": {"username": "fan"},
                    }
                }
            }

            async with socket.expect_event("close", timeout=WAIT_MS):
                await page.locator(".graphiql-execute-button").click()  # now the stop button
            await until_listeners(live.resources.events, channel, 0)
            assert [message["type"] for message in sent] == [
                "connection_init",
                "subscribe",
                "complete",
            ]
            assert sent[0]["payload"] == {"authorization": f"Bearer {signed_up['accessToken']}"}
            assert sent[1]["payload"]["query"] == SUBSCRIPTION
            assert sent[2]["id"] == sent[1]["id"]

            async with page.expect_response(f"{live.base_url}/graphql", timeout=WAIT_MS):
                await run_from_menu(page, BOTH, "Me")
            await expect(page.locator(".result-window")).to_contain_text("wendy", timeout=WAIT_MS)
            assert await result_pane(page) == {"data": {"viewer": {"username": "wendy"}}}

            # The named subscription of the same editor goes over a socket of its own.
            async with page.expect_websocket(timeout=WAIT_MS) as opened:
                await run_from_menu(page, BOTH, "Live")
            named = await opened.value
            await until_listeners(live.resources.events, channel, 2)
            async with named.expect_event("close", timeout=WAIT_MS):
                await page.locator(".graphiql-execute-button").click()
            await until_listeners(live.resources.events, channel, 0)
            assert [(message["type"], message.get("payload")) for message in sent[3:]] == [
                ("connection_init", sent[0]["payload"]),
                ("subscribe", {"query": BOTH, "operationName": "Live"}),
                ("complete", None),
            ]
        finally:
            await browser.close()

    assert [socket.url for socket in sockets] == [live.ws_url, live.ws_url]
    assert posted[1:] == ["Me"], "only the query goes over HTTP (after the schema's introspection)"
    assert foreign == []
