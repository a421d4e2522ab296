"""OpenTelemetry tracing (the `otel` extra): one GraphQL request is one trace with spans for the
HTTP request, the GraphQL operation, its SQL and its Redis commands. Runs the app in a process
of its own (tests/tracing_probe.py): instrumentation patches asyncpg and redis process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from settings import Settings
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_a_graphql_request_is_one_trace_with_http_graphql_sql_and_redis_spans(
    settings: Settings, tmp_path: Path
) -> None:
    env = os.environ | {
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "SECRET_KEY": str(settings.secret_key),
        "SHUTTER_DATA_DIR": str(tmp_path),
    }
    probe = subprocess.run(
        [sys.executable, "-m", "tests.tracing_probe", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr[-4000:]
    spans = [json.loads(line) for line in probe.stdout.splitlines()]
    (operation,) = [span for span in spans if span["name"] == "GraphQL Query: Me"]
    trace = [span for span in spans if span["trace_id"] == operation["trace_id"]]
    http = [span for span in trace if span["name"] == "POST /graphql"]
    sql = [span for span in trace if span["attributes"].get("db.system") == "postgresql"]
    redis = [span for span in trace if span["attributes"].get("db.system") == "redis"]
    assert len(http) == 1, trace
    assert http[0]["kind"] == "SERVER"
    assert http[0]["attributes"]["http.status_code"] == "200"
    assert sql, trace
    assert redis, trace
    assert any("SELECT" in span["attributes"].get("db.statement", "") for span in sql)
    # Resolver arguments (the sign-up's password) never become span attributes.
    assert any(span["name"] == "GraphQL Resolving: signUp" for span in spans)
    assert not any(key.startswith("graphql.param") for span in spans for key in span["attributes"])
