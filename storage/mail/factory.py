"""The transport the settings ask for: SMTP when `SMTP_URL` is set, the outbox folder otherwise."""

from __future__ import annotations

from settings import Settings
from storage.mail import MailTransport
from storage.mail.outbox import OutboxTransport
from storage.mail.smtp import SmtpServer, SmtpTransport


def mail_transport(settings: Settings) -> MailTransport:
    """Raises ValueError for a malformed SMTP_URL. No side effects (nothing connects)."""
    if settings.smtp_url:
        return SmtpTransport(SmtpServer.from_url(settings.smtp_url))
    return OutboxTransport(settings.outbox_dir)
