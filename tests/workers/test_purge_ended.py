"""The daily clean-up cron (workers.jobs.purge_ended_sessions): sessions and account tokens
that ended over a week ago go; everything younger stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from resources import Resources
from services import account_tokens
from storage.pg import account_tokens as token_store
from tests.factories import make_user
from workers import jobs


async def test_tokens_expired_over_a_week_ago_are_deleted_and_the_rest_kept(
    clean: Resources,
) -> None:
    user = await make_user(clean.db, "ann")
    now = datetime.now(UTC)
    ages = {b"old-used": 30, b"old": 8, b"recent": 6, b"live": -1}  # days since expiry
    for digest, days in ages.items():
        await token_store.insert_token(
            clean.db,
            token_hash=digest,
            user_id=user.id,
            purpose=account_tokens.VERIFY_EMAIL,
            email="ann@example.com",
            expires_at=now - timedelta(days=days),
        )
    await clean.db.execute(
        "UPDATE account_tokens SET used_at = now() WHERE token_hash = $1", b"old-used"
    )

    purged = await jobs.purge_ended_sessions({"resources": clean})

    assert purged == 2  # no sessions ended here: the two old tokens
    left = await clean.db.fetch("SELECT token_hash FROM account_tokens ORDER BY token_hash")
    assert [row["token_hash"] for row in left] == [b"live", b"recent"]
