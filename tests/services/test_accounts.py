"""Accounts and sessions, against real PostgreSQL and Redis."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import jwt
import pytest

from resources import Resources
from services import accounts
from services.accounts import AccountDeps, ProfileChanges
from services.auth import Viewer, authenticate
from services.errors import DomainError, UserErrorCode
from services.tokens import InvalidTokenError

PASSWORD = "correct horse battery"


def deps_on(resources: Resources, db: asyncpg.Connection) -> AccountDeps:
    return dataclasses.replace(resources.accounts, db=db)


def codes(
    error: pytest.ExceptionInfo[DomainError],
) -> list[tuple[UserErrorCode, tuple[str, ...] | None]]:
    return [(item.code, item.field) for item in error.value.errors]


async def count(db: asyncpg.Connection, table: str) -> int:
    value = await db.fetchval(f"SELECT count(*) FROM {table}")
    assert isinstance(value, int)
    return value


async def test_sign_up_folds_username_and_email_and_opens_a_session(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    signed = await accounts.sign_up(
        deps_on(resources, conn),
        username="  Alice.B_1 ",
        email="Alice@Example.COM",
        password=PASSWORD,
        full_name=" Alice B ",
        client_ip=None,
    )
    assert signed.user.username == "alice.b_1"
    assert signed.user.full_name == "Alice B"
    row = await conn.fetchrow(
        "SELECT email, password_hash FROM users WHERE id = $1", signed.user.id
    )
    assert row is not None
    assert row["email"] == "alice@example.com"
    assert row["password_hash"].startswith("$argon2id$")
    assert await count(conn, "sessions") == 1
    viewer = await authenticate(
        resources.access_tokens, resources.redis, f"Bearer {signed.access_token}"
    )
    assert viewer is not None
    assert viewer.user_id == signed.user.id


@pytest.mark.parametrize(
    ("username", "email", "password", "expected"),
    [
        ("", "a@example.com", PASSWORD, [(UserErrorCode.INVALID_INPUT, ("username",))]),
        ("x" * 31, "a@example.com", PASSWORD, [(UserErrorCode.INVALID_INPUT, ("username",))]),
        ("bad-name", "a@example.com", PASSWORD, [(UserErrorCode.INVALID_INPUT, ("username",))]),
        ("ok", "not-an-email", PASSWORD, [(UserErrorCode.INVALID_INPUT, ("email",))]),
        ("ok", "a@example.com", "short", [(UserErrorCode.INVALID_INPUT, ("password",))]),
        (
            "bad name",
            "nope",
            "short",
            [
                (UserErrorCode.INVALID_INPUT, ("username",)),
                (UserErrorCode.INVALID_INPUT, ("email",)),
                (UserErrorCode.INVALID_INPUT, ("password",)),
            ],
        ),
    ],
)
async def test_sign_up_rejects_invalid_input_and_writes_nothing(
    resources: Resources,
    conn: asyncpg.Connection,
    username: str,
    email: str,
    password: str,
    expected: list[tuple[UserErrorCode, tuple[str, ...]]],
) -> None:
    with pytest.raises(DomainError) as error:
        await accounts.sign_up(
            deps_on(resources, conn),
            username=username,
            email=email,
            password=password,
            full_name=None,
            client_ip=None,
        )
    assert codes(error) == expected
    assert await count(conn, "users") == 0
    assert await count(conn, "sessions") == 0


async def test_username_and_email_are_unique_whatever_their_case(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    deps = deps_on(resources, conn)
    await accounts.sign_up(
        deps,
        username="bob",
        email="bob@example.com",
        password=PASSWORD,
        full_name=None,
        client_ip=None,
    )
    with pytest.raises(DomainError) as error:
        await accounts.sign_up(
            deps,
            username="BOB",
            email="other@example.com",
            password=PASSWORD,
            full_name=None,
            client_ip=None,
        )
    assert codes(error) == [(UserErrorCode.USERNAME_TAKEN, ("username",))]
    with pytest.raises(DomainError) as error:
        await accounts.sign_up(
            deps,
            username="bobby",
            email="BOB@example.com",
            password=PASSWORD,
            full_name=None,
            client_ip=None,
        )
    assert codes(error) == [(UserErrorCode.EMAIL_TAKEN, ("email",))]
    assert await count(conn, "users") == 1
    assert await count(conn, "sessions") == 1


async def test_log_in_by_username_or_email(resources: Resources, conn: asyncpg.Connection) -> None:
    deps = deps_on(resources, conn)
    created = await accounts.sign_up(
        deps,
        username="carol",
        email="carol@example.com",
        password=PASSWORD,
        full_name=None,
        client_ip=None,
    )
    by_name = await accounts.log_in(deps, username_or_email="Carol", password=PASSWORD)
    by_email = await accounts.log_in(deps, username_or_email="CAROL@example.com", password=PASSWORD)
    assert by_name.user.id == by_email.user.id == created.user.id
    assert by_name.refresh_token != by_email.refresh_token
    assert await count(conn, "sessions") == 3


@pytest.mark.parametrize(
    ("identifier", "password"),
    [("carol", "wrong password"), ("nobody", PASSWORD), ("", PASSWORD), ("carol", "")],
)
async def test_log_in_failures_say_nothing_about_which_part_was_wrong(
    resources: Resources, conn: asyncpg.Connection, identifier: str, password: str
) -> None:
    deps = deps_on(resources, conn)
    await accounts.sign_up(
        deps,
        username="carol",
        email="carol@example.com",
        password=PASSWORD,
        full_name=None,
        client_ip=None,
    )
    with pytest.raises(DomainError) as error:
        await accounts.log_in(deps, username_or_email=identifier, password=password)
    assert codes(error) == [(UserErrorCode.INVALID_CREDENTIALS, None)]
    assert await count(conn, "sessions") == 1


async def test_refresh_rotates_and_a_replayed_token_revokes_the_session(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    deps = deps_on(resources, conn)
    first = await accounts.sign_up(
        deps,
        username="dave",
        email="dave@example.com",
        password=PASSWORD,
        full_name=None,
        client_ip=None,
    )
    second = await accounts.refresh_session(deps, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.user.id == first.user.id
    third = await accounts.refresh_session(deps, second.refresh_token)

    # The first token was rotated away: presenting it again is a replay.
    with pytest.raises(DomainError) as error:
        await accounts.refresh_session(deps, first.refresh_token)
    assert codes(error) == [(UserErrorCode.INVALID_CREDENTIALS, None)]
    # ... which ends the session for everyone: the latest refresh token and access token too.
    with pytest.raises(DomainError):
        await accounts.refresh_session(deps, third.refresh_token)
    with pytest.raises(InvalidTokenError, match="session"):
        await authenticate(resources.access_tokens, resources.redis, f"Bearer {third.access_token}")
    revoked = await conn.fetchrow("SELECT revoked_at, revoked_reason, generation FROM sessions")
    assert revoked is not None
    assert revoked["revoked_reason"] == "refresh token reused"
    assert revoked["generation"] == 3


async def test_a_wrong_secret_with_a_real_session_id_is_refused_but_ends_nothing(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    deps = deps_on(resources, conn)
    first = await accounts.sign_up(
        deps,
        username="fay",
        email="fay@example.com",
        password=PASSWORD,
        full_name=None,
        client_ip=None,
    )
    session_id = first.refresh_token.partition(".")[0]
    with pytest.raises(DomainError) as error:
        await accounts.refresh_session(deps, f"{session_id}.a-guess-not-a-rotated-token")
    assert codes(error) == [(UserErrorCode.INVALID_CREDENTIALS, None)]
    session = await conn.fetchrow("SELECT revoked_at, generation FROM sessions")
    assert session is not None
    assert (session["revoked_at"], session["generation"]) == (None, 1)
    await authenticate(resources.access_tokens, resources.redis, f"Bearer {first.access_token}")
    assert (await accounts.refresh_session(deps, first.refresh_token)).user.id == first.user.id


@pytest.mark.parametrize("token", ["", "garbage", f"{uuid.uuid4()}.secret", "not-a-uuid.secret"])
async def test_refresh_with_an_unknown_token_changes_nothing(
    resources: Resources, conn: asyncpg.Connection, token: str
) -> None:
    deps = deps_on(resources, conn)
    await accounts.sign_up(
        deps,
        username="erin",
        email="erin@example.com",
        password=PASSWORD,
        full_name=None,
        client_ip=None,
    )
    with pytest.raises(DomainError) as error:
        await accounts.refresh_session(deps, token)
    assert codes(error) == [(UserErrorCode.INVALID_CREDENTIALS, None)]
    assert await conn.fetchval("SELECT count(*) FROM sessions WHERE revoked_at IS NULL") == 1


async def test_an_expired_session_cannot_be_refreshed(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    deps = deps_on(resources, conn)
    signed = await accounts.sign_up(
        deps,
        username="fay",
        email="fay@example.com",
        password=PASSWORD,
        full_name=None,
        client_ip=None,
    )
    await conn.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    with pytest.raises(DomainError):
        await accounts.refresh_session(deps, signed.refresh_token)


async def test_log_out_ends_refresh_and_access_tokens(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    deps = deps_on(resources, conn)
    signed = await accounts.sign_up(
        deps,
        username="gus",
        email="gus@example.com",
        password=PASSWORD,
        full_name=None,
        client_ip=None,
    )
    viewer = await authenticate(
        resources.access_tokens, resources.redis, f"Bearer {signed.access_token}"
    )
    assert viewer is not None
    await accounts.log_out(deps, viewer)
    with pytest.raises(InvalidTokenError):
        await authenticate(
            resources.access_tokens, resources.redis, f"Bearer {signed.access_token}"
        )
    with pytest.raises(DomainError):
        await accounts.refresh_session(deps, signed.refresh_token)


async def test_expired_and_tampered_access_tokens_are_refused(resources: Resources) -> None:
    tokens = resources.access_tokens
    session_id = uuid.uuid4()
    expired, _ = tokens.issue(7, session_id, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(InvalidTokenError, match="expired"):
        await authenticate(tokens, resources.redis, f"Bearer {expired}")
    valid, _ = tokens.issue(7, session_id)
    header, _payload, signature = valid.split(".")
    forged_payload = jwt.utils.base64url_encode(b'{"sub":"8"}').decode()
    for tampered in (f"{header}.{forged_payload}.{signature}", valid[:-2] + "xx", "a.b.c"):
        with pytest.raises(InvalidTokenError, match="invalid"):
            await authenticate(tokens, resources.redis, f"Bearer {tampered}")
    other_key = jwt.encode(
        {
            "sub": "7",
            "sid": str(session_id),
            "typ": "access",
            "iss": "shutter",
            "iat": 0,
            "exp": 2**33,
        },
        "another key",
        algorithm="HS256",
    )
    with pytest.raises(InvalidTokenError):
        await authenticate(tokens, resources.redis, f"Bearer {other_key}")

    with pytest.raises(InvalidTokenError, match="Bearer"):
        await authenticate(tokens, resources.redis, f"Basic {valid}")
    assert await authenticate(tokens, resources.redis, None) is None
    viewer = await authenticate(tokens, resources.redis, f"Bearer {valid}")
    assert viewer == Viewer(user_id=7, session_id=session_id)


async def test_update_profile_changes_only_given_fields(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    deps = deps_on(resources, conn)
    signed = await accounts.sign_up(
        deps,
        username="hal",
        email="hal@example.com",
        password=PASSWORD,
        full_name="Hal",
        client_ip=None,
    )
    viewer = Viewer(user_id=signed.user.id, session_id=uuid.uuid4())
    updated = await accounts.update_profile(deps, viewer, ProfileChanges(bio=" Photographer "))
    assert (updated.full_name, updated.bio) == ("Hal", "Photographer")
    cleared = await accounts.update_profile(deps, viewer, ProfileChanges(full_name=""))
    assert (cleared.full_name, cleared.bio) == (None, "Photographer")
    with pytest.raises(DomainError) as error:
        await accounts.update_profile(deps, viewer, ProfileChanges(full_name="ok", bio="x" * 151))
    assert codes(error) == [(UserErrorCode.INVALID_INPUT, ("bio",))]
    row = await conn.fetchrow("SELECT full_name, bio FROM users WHERE id = $1", viewer.user_id)
    assert row is not None
    assert (row["full_name"], row["bio"]) == (None, "Photographer")


def test_a_verified_token_still_expires_on_time(resources: Resources) -> None:
    tokens = resources.access_tokens
    issued_at = datetime.now(UTC)
    token, expires_at = tokens.issue(7, uuid.uuid4(), now=issued_at)
    assert tokens.verify(token).user_id == 7  # checked once, then remembered
    assert tokens.verify(token, now=expires_at - timedelta(seconds=1)).user_id == 7
    with pytest.raises(InvalidTokenError, match="expired"):
        tokens.verify(token, now=expires_at)
    with pytest.raises(InvalidTokenError, match="invalid"):
        tokens.verify(token[:-2] + "xx")  # a tampered copy is checked in full, and refused
