"""No log line carries a password, an email, a password hash or a refresh token, even when an
unexpected error inside the mutations that handle them is logged with its traceback.

Each test breaks one storage call deep inside a mutation (as a PostgreSQL internal error would: an
outage is answered SERVICE_UNAVAILABLE and logged in one line without a traceback, see
tests/api/test_service_outages.py), with the process's logging configured as `shutter run`
configures it, and reads every rendered line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from logs import configure_logging, redact_secrets
from settings import Settings
from storage.pg import sessions as session_store
from storage.pg import users as user_store
from tests.api.helpers import LOG_IN, REFRESH, SIGN_UP, sign_up
from tests.conftest import LiveApp

PASSWORD = "zebra-quartz-hidden-9"
EMAIL = "very.private.person@example.org"

pytestmark = pytest.mark.usefixtures("restore_logging")


def fail_unexpectedly(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
    """Make `module.name` raise as PostgreSQL does on an internal error (SQLSTATE XX000)."""

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise asyncpg.exceptions.InternalServerError("could not read block 7")

    monkeypatch.setattr(module, name, broken)


async def logged_during(
    capsys: pytest.CaptureFixture[str], log_format: str, call: Callable[[], Awaitable[Any]]
) -> str:
    """Everything the process rendered to stderr while `call` ran (logging as `shutter run`)."""
    configure_logging(Settings(log_format=log_format, log_level="INFO"))
    capsys.readouterr()
    await call()
    return capsys.readouterr().err


def assert_error_logged_without(text: str, secrets: list[str]) -> None:
    assert "unexpected error in operation" in text  # the failure was logged, with its traceback
    assert "InternalServerError" in text
    for secret in secrets:
        assert secret not in text


@pytest.mark.parametrize("log_format", ["json", "console"])
async def test_sign_up_failure_logs_neither_password_nor_email(
    live: LiveApp,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    log_format: str,
) -> None:
    fail_unexpectedly(monkeypatch, user_store, "insert_user")
    variables = {"input": {"username": "ann", "email": EMAIL, "password": PASSWORD}}

    async def call() -> None:
        body = await live.graphql(SIGN_UP, variables)
        assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"

    text = await logged_during(capsys, log_format, call)
    assert_error_logged_without(text, [PASSWORD, EMAIL])


@pytest.mark.parametrize("log_format", ["json", "console"])
async def test_log_in_failure_logs_neither_password_nor_hash(
    live: LiveApp,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    log_format: str,
) -> None:
    await sign_up(live, "bea", email=EMAIL, password=PASSWORD)
    stored_hash = await live.resources.db.fetchval(
        "SELECT password_hash FROM users WHERE username = 'bea'"
    )
    # After the password was checked: the hash and the password are both locals by then.
    fail_unexpectedly(monkeypatch, user_store, "fetch_users_by_ids")

    async def call() -> None:
        body = await live.graphql(
            LOG_IN, {"input": {"usernameOrEmail": EMAIL, "password": PASSWORD}}
        )
        assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"

    text = await logged_during(capsys, log_format, call)
    # The hash's salt and digest (its `$argon2id$v=19$m=...,t=...,p=...$` prefix is not secret).
    assert_error_logged_without(text, [PASSWORD, EMAIL, *stored_hash.split("$")[-2:]])


@pytest.mark.parametrize("log_format", ["json", "console"])
async def test_refresh_failure_logs_no_refresh_token(
    live: LiveApp,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    log_format: str,
) -> None:
    signed_up = await sign_up(live, "cat")
    refresh_token = signed_up["refreshToken"]
    fail_unexpectedly(monkeypatch, session_store, "rotate_session_token")

    async def call() -> None:
        body = await live.graphql(REFRESH, {"token": refresh_token})
        assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"

    text = await logged_during(capsys, log_format, call)
    secret = refresh_token.partition(".")[2]
    assert_error_logged_without(text, [secret])
    # The token still works: the failed rotation changed nothing.
    monkeypatch.undo()
    body = await live.graphql(REFRESH, {"token": refresh_token})
    assert body["data"]["refreshSession"]["userErrors"] == []


def test_secrets_are_scrubbed_from_fields_messages_and_tracebacks() -> None:
    """The second line of defence, on its own: whatever a line was given, secrets do not show."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    refresh = "0f0c2a4e-1111-2222-3333-444455556666.q9X-secret-part_123"
    event = {
        "event": f"refused {refresh} for bob@example.com with password=hunter2; Bearer {jwt}",
        "password": "hunter2",
        "refreshToken": refresh,
        "user_email": "bob@example.com",
        "exception": [
            {
                "exc_type": "DataError",
                "exc_value": "invalid input for query argument $2: 'hunter2' (too long)",
                "frames": [{"filename": "x.py", "lineno": 1, "name": "f"}],
            }
        ],
        "status": 500,
        "detail": {"authorization": f"Bearer {jwt}", "nested": ["token: abc123def"]},
    }
    scrubbed = redact_secrets(None, "error", event)
    rendered = repr(scrubbed)
    for secret in ("hunter2", jwt, "q9X-secret-part_123", "bob@example.com", "abc123def"):
        assert secret not in rendered
    assert scrubbed["password"] == "[redacted]"
    assert scrubbed["status"] == 500
    assert scrubbed["exception"][0]["frames"] == [{"filename": "x.py", "lineno": 1, "name": "f"}]
    assert scrubbed["exception"][0]["exc_type"] == "DataError"
