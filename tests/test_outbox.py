"""The outbox (mail with no SMTP_URL): atomic .eml files, and `shutter outbox` showing them."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from services.mail import MailConfig, compose
from storage.mail.outbox import list_messages, write_message
from tests.test_cli import ROOT, clean_env

CONFIG = MailConfig(
    sender="Shutter <no-reply@example.com>",
    link_base_url="https://app.example",
    verification_ttl=timedelta(hours=48),
    reset_ttl=timedelta(hours=1),
)


def test_outbox_files_and_the_outbox_command(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    outbox = data_dir / "outbox"
    for number in range(3):
        envelope = compose(
            CONFIG,
            template="verify_email",
            to=f"user{number}@example.com",
            subject=f"Message {number}",
            username=f"user{number}<b>",
            link=f"https://app.example/verify-email?token=t{number}",
            token=f"t{number}",
            valid_for="48 hours",
        )
        path = write_message(outbox, envelope)
        assert write_message(outbox, envelope) == path  # a retried job rewrites the same file
    paths = list_messages(outbox)
    assert len(paths) == 3
    assert [p.name for p in outbox.iterdir() if p.name.startswith(".")] == []  # no temp file
    raw = paths[0].read_text()
    assert "user0&lt;b&gt;" in raw  # HTML body escaped ...
    assert "Hello @user0<b>," in raw  # ... plain text as typed

    def outbox_command(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "cli", "outbox", *args],
            cwd=ROOT,
            env=clean_env(data_dir),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return result.stdout

    latest = outbox_command()
    assert "Subject: Message 2" in latest
    assert "To: user2@example.com" in latest
    assert "https://app.example/verify-email?token=t2" in latest
    assert "Message 1" not in latest
    two = outbox_command("-n", "2")
    assert two.index("Subject: Message 1") < two.index("Subject: Message 2")
    assert "Message 0" not in two
    every = outbox_command("--all")
    assert [f"Subject: Message {n}" in every for n in range(3)] == [True] * 3
    empty = subprocess.run(
        [sys.executable, "-m", "cli", "outbox"],
        cwd=ROOT,
        env=clean_env(tmp_path / "other"),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert empty.stdout.startswith("no messages in ")
