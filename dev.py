#!/usr/bin/env python3
"""The two commands of a fresh clone; needs only Python 3.11+ and access to PyPI.

    python3 dev.py run     # the whole service: API + worker, embedded PostgreSQL and Valkey
    python3 dev.py test    # ruff, mypy (strict), import contracts, pytest (throwaway servers)

Each creates `.venv` on first use and (re)installs the project there whenever pyproject.toml
changes; extra arguments go to `shutter run` or to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def ensure_environment() -> None:
    """Create .venv and install the project (with its dev extra) unless already up to date."""
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if stamp.exists():
        return
    print("dev.py: installing dependencies into .venv", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    # compat mode: the repository root goes on sys.path, so new top-level packages need no reinstall
    subprocess.run(
        [
            *pip,
            "install",
            "--quiet",
            "--editable",
            ".[dev]",
            "--config-settings",
            "editable_mode=compat",
        ],
        cwd=ROOT,
        check=True,
    )
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def run_checks(pytest_args: list[str]) -> int:
    steps = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["lint-imports"],  # the layers of docs/architecture.md (contracts in pyproject.toml)
        ["pytest", *pytest_args],
    ]
    for step in steps:
        print(f"dev.py: {' '.join(step)}", flush=True)
        result = subprocess.run([str(BIN / step[0]), *step[1:]], cwd=ROOT, check=False)
        if result.returncode != 0:
            return result.returncode
    return 0


def main() -> int:
    command, *rest = sys.argv[1:] or ["help"]
    if command not in ("run", "test"):
        print(__doc__)
        return 2
    ensure_environment()
    if command == "run":
        os.execv(BIN / "shutter", [str(BIN / "shutter"), "run", *rest])
    return run_checks(rest)


if __name__ == "__main__":
    sys.exit(main())
