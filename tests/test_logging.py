"""Structured logs: every line of the process (ours, uvicorn's, arq's) through one renderer, with
timestamp, level, logger, event and the request or job id of the task that logged it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from arq.connections import ArqRedis

from logs import configure_logging, set_request_id
from resources import Resources
from settings import Settings
from tests.api.processes import running_servers, server_env
from tests.conftest import run_worker_until_idle


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_carry_the_request_id_and_exceptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(Settings(log_format="json", log_level="INFO"))
    log = logging.getLogger("shutter.test")
    log.debug("not shown at INFO")
    set_request_id("req-12345678")
    log.info("hello %s", "world")
    set_request_id(None)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed")
    structlog.get_logger("shutter.structured").warning("native", answer=42)

    first, second, third = json_lines(capsys.readouterr().err)
    assert first.keys() == {"event", "level", "logger", "timestamp", "request_id"}
    assert first["event"] == "hello world"
    assert (first["level"], first["logger"], first["request_id"]) == (
        "info",
        "shutter.test",
        "req-12345678",
    )
    assert first["timestamp"].endswith("Z")
    assert "request_id" not in second
    assert second["level"] == "error"
    assert second["exception"][0]["exc_type"] == "ValueError"
    assert second["exception"][0]["exc_value"] == "boom"
    assert (third["event"], third["answer"], third["logger"]) == (
        "native",
        42,
        "shutter.structured",
    )


@pytest.mark.usefixtures("restore_logging")
def test_records_do_not_gather_what_no_line_renders() -> None:
    records: list[logging.LogRecord] = []
    configure_logging(Settings(log_format="json"))
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    logging.getLogger("shutter.test").warning("hello")
    (record,) = records
    assert (record.funcName, record.lineno) == ("(unknown function)", 0)
    assert (record.thread, record.process, record.processName) == (None, None, None)


@pytest.mark.usefixtures("restore_logging")
def test_console_lines_are_readable(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(log_format="console"))
    set_request_id("req-87654321")
    logging.getLogger("shutter.test").warning("careful")
    (line,) = capsys.readouterr().err.splitlines()
    assert "careful" in line
    assert "warning" in line
    assert "request_id=req-87654321" in line
    assert not line.startswith("{")


@pytest.mark.usefixtures("restore_logging")
async def test_job_lines_carry_the_job_id(
    clean: Resources, settings: Settings, queue: ArqRedis, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(Settings(log_format="json"))
    await queue.enqueue_job("fan_out_post", 515151, _job_id="fan_out_post:515151")
    await run_worker_until_idle(settings)
    lines = json_lines(capsys.readouterr().err)
    about_job = [line for line in lines if line.get("job_id") == "fan_out_post:515151"]
    assert about_job, lines
    assert {line["logger"] for line in about_job} == {"arq.worker"}
    assert all("request_id" not in line for line in about_job)


async def test_a_server_logs_json_lines_with_one_access_line_per_request(
    settings: Settings, tmp_path: Path
) -> None:
    env = server_env(settings, tmp_path / "data") | {"LOG_FORMAT": "auto"}  # stderr is a file
    async with (
        running_servers(env, tmp_path, 1) as (server,),
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        response = await http.get("/healthz", headers={"x-request-id": "probe-0000-1111"})
        assert response.headers["x-request-id"] == "probe-0000-1111"
    output = server.log_path.read_text().splitlines()
    # stdout shares the file here: the banner for people is the only other text.
    assert output[-1].startswith("{")
    assert json.loads(output[-1])["event"] == "shutter stopped"
    lines = json_lines("\n".join(line for line in output if line.startswith("{")))
    others = [line for line in output if line.strip() and not line.startswith("{")]
    assert [line.strip().split(".")[0] for line in others] == ["Shutter is up"], others
    assert all({"timestamp", "level", "logger", "event"} <= line.keys() for line in lines)
    (access,) = [line for line in lines if line.get("request_id") == "probe-0000-1111"]
    assert access["logger"] == "shutter.access"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/healthz", 200)
    assert isinstance(access["duration_ms"], float)
    assert any(line["logger"] == "uvicorn.error" for line in lines)
    assert not any(line["logger"] == "uvicorn.access" for line in lines)
