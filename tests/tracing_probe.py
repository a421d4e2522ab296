"""Run by tests/test_tracing.py in a process of its own (tracing patches asyncpg and redis for the
whole process): serves the app with every span going to an in-memory exporter, signs up, asks
one authenticated query, and prints every span as a JSON line on stdout."""

from __future__ import annotations

import asyncio
import json
import sys

import httpx
import uvicorn
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from settings import Settings
from tracing import configure_tracing

QUERY = "query Me { viewer { username followerCount } }"


async def main(port: int) -> None:
    settings = Settings(password_hash_time_cost=1, password_hash_memory_kib=1024)
    exporter = InMemorySpanExporter()
    assert configure_tracing(settings, exporter=exporter)
    from app import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.02)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        signed_up = await http.post(
            "/graphql",
            json={
                "query": 'mutation { signUp(input: {username: "tracy", email: '
                '"tracy@example.com", password: "long enough pass"}) { accessToken } }'
            },
        )
        token = signed_up.json()["data"]["signUp"]["accessToken"]
        answer = await http.post(
            "/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"}
        )
        assert answer.json()["data"]["viewer"]["username"] == "tracy", answer.text
    server.should_exit = True
    await task
    for span in exporter.get_finished_spans():
        print(
            json.dumps(
                {
                    "name": span.name,
                    "kind": span.kind.name,
                    "trace_id": format(span.context.trace_id, "032x") if span.context else None,
                    "attributes": {k: str(v) for k, v in (span.attributes or {}).items()},
                }
            )
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
