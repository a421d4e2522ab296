"""Sending over SMTP with aiosmtplib, to the server `SMTP_URL` names:

- `smtp://[user:password@]host[:port]` plain SMTP (port 25 by default), upgraded with STARTTLS
  when the server offers it (aiosmtplib's default), or required with `?starttls=true`;
- `smtps://[user:password@]host[:port]` TLS from the first byte (port 465 by default).

User name and password are percent-decoded from the URL. One connection per message: account
mail is a trickle, and a pooled connection would need its own keep-alive handling.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from storage.mail import Envelope, MailDeliveryError

DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    require_starttls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """Parse an SMTP URL; raises ValueError for another scheme or no host."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://host:port or smtps://host:port")
        implicit_tls = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit_tls else 25),
            implicit_tls=implicit_tls,
            require_starttls=query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpTransport:
    """Sends each message in its own SMTP session."""

    def __init__(self, server: SmtpServer, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS):
        self.server = server
        self.timeout_seconds = timeout_seconds

    async def send(self, envelope: Envelope) -> None:
        """Raises MailDeliveryError (naming no address) when the server is unreachable or
        refuses the message."""
        server = self.server
        try:
            await aiosmtplib.send(
                envelope.message,
                sender=envelope.sender,
                recipients=[envelope.recipient],
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.implicit_tls,
                start_tls=True if server.require_starttls else None,
                timeout=self.timeout_seconds,
            )
        except aiosmtplib.SMTPResponseException as error:
            raise MailDeliveryError(
                f"the SMTP server refused the message ({type(error).__name__}, {error.code})"
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise MailDeliveryError(
                f"could not reach the SMTP server ({type(error).__name__})"
            ) from None
