"""One side of `python -m bench.cpu_ab`: the app of the source tree given as `--code`, called
in-process (ASGI, no HTTP client), pinned to CPU 0, logging as `shutter serve` does (to stderr,
which bench.cpu_ab discards). For each line `go N` on stdin it serves N requests and prints the
CPU milliseconds per request; any other line ends it.

Run as a script (not `-m`), so that `app`, `settings` and `services` come from `--code`: the
tree under test, which may be an older commit without this file."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

FEED = """
query Feed($first: Int!) {
  feed(first: $first, order: CHRONOLOGICAL) {
    edges { node { id author { username } likeCount commentCount viewerHasLiked
                   media { image(minWidth: 640) { url width } } } }
  }
}
"""
RANKED_FEED = FEED.replace(", order: CHRONOLOGICAL", "")
"""The default order: each request a RANKED first page (ranks the window, logs the page)."""
RANKED_NEXT = """
query Feed($first: Int!, $after: String) {
  feed(first: $first, after: $after) {
    edges { node { id author { username } likeCount commentCount viewerHasLiked
                   media { image(minWidth: 640) { url width } } } }
    pageInfo { endCursor }
  }
}
"""
"""The default order's second page: read from the paging snapshot of one first page (and, since
#22, logged with the rows the window was ranked with)."""
QUERIES = {
    "feed": FEED,
    "ranked": RANKED_FEED,
    "ranked-next": RANKED_NEXT,
    "viewer": "{ viewer { id } }",
}


async def serve_batches(code: str, query: str, viewer_id: int) -> None:
    sys.path.insert(0, code)
    from app import create_app
    from logs import configure_logging
    from services.tokens import AccessTokens
    from settings import Settings

    settings = Settings()
    configure_logging(settings)  # as `shutter serve` does: each request's access line is rendered
    token = AccessTokens(settings.secret_key, ttl_seconds=3600).issue(viewer_id, uuid.uuid4())[0]
    variables: dict[str, Any] = {"first": 20}
    body = json.dumps({"query": QUERIES[query], "variables": variables}).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [
            (b"host", b"bench"), (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }  # fmt: skip
    app = create_app(settings)

    async def call() -> Any:
        messages: list[MutableMapping[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            messages.append(message)

        await app(dict(scope), receive, send)
        if messages[0]["status"] != 200 or b'"errors"' in messages[1]["body"]:
            raise RuntimeError(f"unexpected response: {messages}")
        return json.loads(messages[1]["body"])  # type: ignore[no-any-return]

    loop = asyncio.get_running_loop()
    async with app.router.lifespan_context(app):
        if query == "ranked-next":  # one first page; every request then reads its second page
            first_page = await call()
            variables["after"] = first_page["data"]["feed"]["pageInfo"]["endCursor"]
            body = json.dumps({"query": QUERIES[query], "variables": variables}).encode()
            scope["headers"][-1] = (b"content-length", str(len(body)).encode())
        for _ in range(200):  # warm: caches, prepared statements, the cached feed
            await call()
        print("ready", flush=True)
        while (line := await loop.run_in_executor(None, sys.stdin.readline)).startswith("go"):
            count = int(line.split()[1])
            started = time.process_time()
            for _ in range(count):
                await call()
            print(f"{(time.process_time() - started) / count * 1000:.4f}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", required=True)
    parser.add_argument("--query", choices=sorted(QUERIES), default="feed")
    parser.add_argument("--viewer", type=int, required=True)
    arguments = parser.parse_args()
    os.sched_setaffinity(0, {0})
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve_batches(arguments.code, arguments.query, arguments.viewer))
