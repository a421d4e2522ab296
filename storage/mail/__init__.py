"""Sending email: over SMTP (`SMTP_URL`, storage.mail.smtp) or, with no SMTP server configured,
into an outbox folder of `.eml` files (storage.mail.outbox) that `shutter outbox` reads.

A message travels as an `Envelope`: the recipient and the whole RFC 5322 message as bytes.
Its repr names neither, so that an envelope passed as a job argument (arq logs arguments) or
shown in a traceback puts no address, link or body in a log line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message to send: `sender` and `recipient` for the SMTP envelope, `message` the
    rendered message (headers and MIME bodies)."""

    message_id: str
    """A random id (the Message-ID's local part): names the outbox file and the job."""
    sender: str = field(repr=False)
    recipient: str = field(repr=False)
    message: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Envelope({self.message_id})"


class MailDeliveryError(Exception):
    """The message could not be handed over; the same attempt may succeed later. Its text
    names no address (the SMTP server's reply code and the exception's class only)."""


class MailTransport(Protocol):
    async def send(self, envelope: Envelope) -> None:
        """Hand the message over. Raises MailDeliveryError when it was not."""
        ...
