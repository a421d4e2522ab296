"""Account email: messages rendered from templates, queued as jobs, handed to the transport by the
worker (SMTP, or the outbox folder when no SMTP server is configured: storage.mail).

Templates (`services/mail_templates/<name>.txt` and `<name>.html`) are Jinja2: one engine for
both bodies, with template inheritance for the HTML layout and autoescaping on for `.html` (a
username or an address in a message cannot inject markup), off for the plain-text body, where
escaping would only garble it. `string.Template` would have needed hand-escaping of every value
in HTML, which is exactly what goes wrong. Undefined variables raise (StrictUndefined), so a
template and its caller cannot silently disagree.

Nothing here logs an address, a link or a body: an Envelope's repr shows its message id only.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any

import jinja2
from arq.connections import ArqRedis

from storage import jobs
from storage.mail import Envelope, MailTransport

TEMPLATES = Path(__file__).parent / "mail_templates"


@dataclass(frozen=True, slots=True)
class MailConfig:
    """What composing account email needs (from settings)."""

    sender: str
    """The From header, e.g. `Shutter <no-reply@example.com>`."""
    link_base_url: str
    """The front end's base URL, without a trailing slash."""
    verification_ttl: timedelta
    reset_ttl: timedelta

    def link(self, path: str, token: str) -> str:
        return f"{self.link_base_url}/{path}?token={token}"


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def compose(
    config: MailConfig, *, template: str, to: str, subject: str, **context: Any
) -> Envelope:
    """The message `template` makes for `to`: plain text and HTML alternatives. No side effects."""
    environment = _environment()
    values = {"subject": subject, **context}
    text = environment.get_template(f"{template}.txt").render(values)
    html = environment.get_template(f"{template}.html").render(values)
    message_id = secrets.token_hex(16)
    sender_address = parseaddr(config.sender)[1]
    domain = sender_address.rpartition("@")[2] or "shutter.localhost"
    message = EmailMessage(policy=SMTP)
    message["From"] = config.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{message_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return Envelope(
        message_id=message_id, sender=sender_address, recipient=to, message=message.as_bytes()
    )


def describe(duration: timedelta) -> str:
    """'1 hour', '48 hours', '30 minutes'."""
    minutes = int(duration.total_seconds()) // 60
    if minutes % 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    return f"{hours} hour{'s' if hours != 1 else ''}"


async def queue_message(queue: ArqRedis, envelope: Envelope) -> None:
    """Side effect: one send_email job (its id from the message id: queued once)."""
    await jobs.enqueue_send_email(queue, envelope)


async def deliver(transport: MailTransport, envelope: Envelope) -> None:
    """Hand the message over (the send_email job). Raises storage.mail.MailDeliveryError when
    the server could not take it; the job retries."""
    await transport.send(envelope)
