"""`shutter admin ...` run as an operator runs it: a child process on the test's database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from resources import Resources

ROOT = Path(__file__).resolve().parents[1]


def shutter_admin(resources: Resources, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `shutter admin <args>` against the resources' PostgreSQL and Redis; its result."""
    env = os.environ | {
        "DATABASE_URL": str(resources.settings.database_url),
        "REDIS_URL": str(resources.settings.redis_url),
    }
    return subprocess.run(
        [sys.executable, "-m", "cli", "admin", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
