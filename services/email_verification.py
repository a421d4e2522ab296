"""The verification messages: a token for an address and the mail that carries its link. Used at
sign-up (services.accounts) and for an email change (services.account_recovery)."""

from __future__ import annotations

from services import account_tokens, mail
from services.mail import MailConfig
from storage.mail import Envelope
from storage.pg import Db

VERIFY_PATH = "verify-email"


async def verification_message(
    db: Db, config: MailConfig, *, user_id: int, username: str, email: str, change: bool
) -> Envelope:
    """Issue a token for `email` (replacing earlier ones of its kind) and compose its message:
    confirming the account's own address, or (`change`) a new one. Side effects: the token's
    rows (run in the caller's transaction); the message is only composed, not queued."""
    purpose = account_tokens.CHANGE_EMAIL if change else account_tokens.VERIFY_EMAIL
    token = await account_tokens.issue(
        db, user_id=user_id, purpose=purpose, email=email, ttl=config.verification_ttl
    )
    return mail.compose(
        config,
        template="confirm_new_email" if change else "verify_email",
        to=email,
        subject="Confirm your new email address" if change else "Confirm your email address",
        username=username,
        link=config.link(VERIFY_PATH, token),
        token=token,
        valid_for=mail.describe(config.verification_ttl),
    )
