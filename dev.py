#!/usr/bin/env python3
"""The commands of a fresh clone; needs only Python 3.11+ and access to PyPI.

    python3 dev.py run       # the whole service: API + worker, embedded PostgreSQL and Valkey
    python3 dev.py test      # ruff, mypy (strict), import contracts, pytest (throwaway servers)
    python3 dev.py fuzz [--minutes N]      # the Hypothesis tests with fresh seeds, round after
                                           # round for N minutes (10); saves what fails
    python3 dev.py lock      # after editing pyproject.toml's dependencies: re-lock, reinstall
    python3 dev.py upgrade [PACKAGE ...]   # newest allowed versions (of all, or of these),
                                           # reinstall, then the whole of `test`

Each creates `.venv` on first use and installs exactly the versions of the dev lock
(requirements/dev.txt, hash-checked, with plain pip) and the project (editable), again whenever
the lock or pyproject.toml changes; extra arguments of `run`, `test` and `fuzz` go to
`shutter run` or to pytest. `lock` and `upgrade` compile both locks (requirements/dev.txt,
requirements/prod.txt) with uv, which the dev lock installs into .venv.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
LOCKS = ROOT / "requirements"
DEV_LOCK = LOCKS / "dev.txt"
"""Runtime dependencies with the dev, embedded and otel extras: what .venv holds."""
PROD_LOCK = LOCKS / "prod.txt"
"""Runtime dependencies with the otel extra: what the Dockerfile installs."""
BUILD_INPUT = LOCKS / "build.in"
"""pyproject.toml's [build-system] requires, locked too: the project installs without build
isolation, with the locked setuptools."""
LOCK_EXTRAS = {DEV_LOCK: ("dev", "embedded"), PROD_LOCK: ("otel",)}
KEEP_UNLOCKED = {"pip", "shutter"}
"""Distributions of .venv that the dev lock does not list and a re-sync leaves in place."""
HYPOTHESIS_EXAMPLES = ROOT / "tests" / "hypothesis-examples"
"""The failures Hypothesis found, replayed first by every run of the suite (committed)."""
HYPOTHESIS_SEED_VARIABLE = "SHUTTER_HYPOTHESIS_SEED"
"""The base seed of the Hypothesis draws (tests/hypothesis_profiles.py reads it)."""
FUZZ_DEFAULT_MINUTES = 10.0


def normalized(name: str) -> str:
    """A distribution name in its PEP 503 form (`Foo_Bar` -> `foo-bar`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The normalized name a PEP 508 requirement (`name[extra]>=1; marker`) starts with."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return normalized(match.group(1))


def locked_versions(lock: Path) -> dict[str, str]:
    """{normalized name: pinned version} of a lock file (`name==version ; marker \\`)."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", lock.read_text(), re.M)
    return {normalized(name): version for name, version in pins}


def direct_requirements(extras: tuple[str, ...]) -> list[str]:
    """pyproject.toml's runtime dependencies and those of `extras`, following the project's
    references to its own extras (`shutter[otel]`), which are left out."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements, seen, pending = list(project["dependencies"]), set(), list(extras)
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in project["optional-dependencies"][extra]:
            if requirement_name(requirement) == normalized(project["name"]):
                pending += re.findall(r"[\w-]+", requirement.split("[", 1)[1].split("]")[0])
            else:
                requirements.append(requirement)
    return requirements


def unlocked_requirements(lock: Path) -> list[str]:
    """The names pyproject.toml requires (for the lock's extras) that `lock` does not pin: a
    dependency added without `python3 dev.py lock`."""
    pinned = locked_versions(lock)
    names = [requirement_name(r) for r in direct_requirements(LOCK_EXTRAS[lock])]
    return sorted({name for name in names if name not in pinned})


def pip(*arguments: str) -> list[str]:
    return [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", *arguments]


def ensure_environment(*, check_lock: bool = True) -> None:
    """Create .venv and install the dev lock and the project unless already done for this
    lock and pyproject.toml. Side effects: creates/changes .venv; exits when pyproject.toml
    names a dependency the lock lacks (`check_lock`)."""
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", DEV_LOCK):
        digest.update(path.read_bytes())
    stamp = VENV / f".installed-{digest.hexdigest()[:16]}"
    if stamp.exists():
        return
    if check_lock and (missing := unlocked_requirements(DEV_LOCK)):
        sys.exit(
            f"dev.py: pyproject.toml requires {', '.join(missing)}, which "
            f"{DEV_LOCK.relative_to(ROOT)} does not pin: run `python3 dev.py lock`."
        )
    print(f"dev.py: installing {DEV_LOCK.relative_to(ROOT)} into .venv", flush=True)
    subprocess.run(
        pip("install", "--quiet", "--require-hashes", "--no-deps", "-r", str(DEV_LOCK)),
        cwd=ROOT,
        check=True,
    )
    remove_unlocked()
    # compat mode: the repository root goes on sys.path, so new top-level packages need no
    # reinstall; no build isolation: setuptools is the locked one, nothing else is fetched.
    subprocess.run(
        pip(
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--editable",
            ".",
            "--config-settings",
            "editable_mode=compat",
        ),
        cwd=ROOT,
        check=True,
    )
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def remove_unlocked() -> None:
    """Uninstall from .venv what the dev lock no longer lists (a dropped or replaced
    dependency), so that .venv holds the lock and nothing else."""
    listed = subprocess.run(
        pip("list", "--format=json"), capture_output=True, text=True, check=True
    ).stdout
    locked = set(locked_versions(DEV_LOCK)) | KEEP_UNLOCKED
    extra = sorted(
        item["name"] for item in json.loads(listed) if normalized(item["name"]) not in locked
    )
    if extra:
        print(f"dev.py: removing what the lock does not list: {', '.join(extra)}", flush=True)
        subprocess.run(pip("uninstall", "--quiet", "--yes", *extra), check=True)


def compile_locks(upgrade: list[str] | None) -> None:
    """Re-compile both locks from pyproject.toml with uv (from .venv): universal (any platform,
    Python 3.11 and later, one version per package), with hashes. Versions already locked are
    kept unless `upgrade` is given: [] upgrades everything, names upgrade those packages only.
    The production lock is constrained by the dev lock, so that it ships the versions the tests
    ran with."""
    for lock in (DEV_LOCK, PROD_LOCK):
        command = [
            str(BIN / "uv"),
            "pip",
            "compile",
            "--quiet",
            "--universal",
            "--python-version",
            "3.11",
            "--python",
            str(BIN / "python"),
            "--generate-hashes",
            # One version of each package for every Python: no fork per Python version (av 19
            # needs 3.12, so the image, on 3.12, would run another av than the tests on 3.11).
            "--fork-strategy",
            "fewest",
            "--custom-compile-command",
            "python3 dev.py lock",
            "pyproject.toml",
            str(BUILD_INPUT.relative_to(ROOT)),
            *[option for extra in LOCK_EXTRAS[lock] for option in ("--extra", extra)],
            "--output-file",
            str(lock.relative_to(ROOT)),
        ]
        if lock is PROD_LOCK:
            command += ["--constraint", str(DEV_LOCK.relative_to(ROOT))]
        elif upgrade == []:
            command.append("--upgrade")
        elif upgrade:
            command += [option for name in upgrade for option in ("--upgrade-package", name)]
        print(f"dev.py: compiling {lock.relative_to(ROOT)}", flush=True)
        environment = os.environ | {"UV_PYTHON_DOWNLOADS": "never"}
        subprocess.run(command, cwd=ROOT, env=environment, check=True)


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


def example_files() -> set[Path]:
    """The files of the saved Hypothesis examples (tests/hypothesis-examples/)."""
    return {path for path in HYPOTHESIS_EXAMPLES.rglob("*") if path.is_file()}


def fuzz(arguments: list[str]) -> int:
    """Run the Hypothesis tests (pytest's `hypothesis` marker, set on each by Hypothesis's
    plugin) under the `explore` profile, each round with a fresh seed, until `--minutes` are
    spent (a round started finishes); stop at the first failing round. Side effects: failures
    found are saved under tests/hypothesis-examples/; throwaway servers in a temporary
    directory, removed at the end."""
    parser = argparse.ArgumentParser(
        prog="python3 dev.py fuzz",
        description="The Hypothesis tests with fresh seeds, round after round; other arguments "
        "go to pytest (e.g. a test file).",
    )
    parser.add_argument("--minutes", type=float, default=FUZZ_DEFAULT_MINUTES)
    options, pytest_args = parser.parse_known_args(arguments)
    deadline = time.monotonic() + options.minutes * 60
    before = example_files()
    rounds = 0
    with tempfile.TemporaryDirectory(prefix="shutter-fuzz-") as scratch:
        while rounds == 0 or time.monotonic() < deadline:
            rounds += 1
            seed = random.SystemRandom().getrandbits(32)
            command = [
                str(BIN / "pytest"),
                "-q",
                "-m",
                "hypothesis",
                "--hypothesis-profile=explore",
                f"--basetemp={scratch}/round-{rounds}",
                *pytest_args,
            ]
            print(f"dev.py fuzz: round {rounds}, {HYPOTHESIS_SEED_VARIABLE}={seed}", flush=True)
            started = time.monotonic()
            environment = os.environ | {HYPOTHESIS_SEED_VARIABLE: str(seed)}
            result = subprocess.run(command, cwd=ROOT, env=environment, check=False)
            outcome = "passed" if result.returncode == 0 else "FAILED"
            print(
                f"dev.py fuzz: round {rounds} (seed {seed}) {outcome} "
                f"in {time.monotonic() - started:.0f} s",
                flush=True,
            )
            if result.returncode != 0:
                saved = sorted(str(p.relative_to(ROOT)) for p in example_files() - before)
                print(
                    f"dev.py fuzz: round {rounds} failed (pytest exit code {result.returncode}).",
                    flush=True,
                )
                if saved:
                    print(
                        "Hypothesis saved the failing examples it found under "
                        f"{HYPOTHESIS_EXAMPLES.relative_to(ROOT)}/"
                        + "".join(f"\n    {path}" for path in saved)
                        + "\nEvery run of the suite replays them first: `python3 dev.py test` "
                        "(or pytest on the failing test) shows the failure until it is fixed. "
                        "Commit these files together with the fix.",
                        flush=True,
                    )
                else:
                    print(
                        "Nothing new was saved: no new falsifying example (a saved one failing "
                        "again, or an error outside the examples: a fixture, a timeout; see "
                        f"pytest's report above). The round's draws again: "
                        f"{HYPOTHESIS_SEED_VARIABLE}={seed} pytest -m hypothesis "
                        "--hypothesis-profile=explore",
                        flush=True,
                    )
                return result.returncode
    saved_anyway = example_files() - before
    print(
        f"dev.py fuzz: {rounds} rounds passed"
        + (
            f"; {len(saved_anyway)} new files under tests/hypothesis-examples/"
            if saved_anyway
            else "; nothing new saved"
        ),
        flush=True,
    )
    return 0


def main() -> int:
    command, *rest = sys.argv[1:] or ["help"]
    if command not in ("run", "test", "lock", "upgrade", "fuzz"):
        print(__doc__)
        return 2
    if command in ("lock", "upgrade"):
        if command == "lock" and rest:
            print(__doc__)
            return 2
        ensure_environment(check_lock=False)  # uv comes with the dev lock
        compile_locks(rest if command == "upgrade" else None)
        ensure_environment()
        if command == "lock":
            print("dev.py: locked and installed; `python3 dev.py test` checks them", flush=True)
            return 0
        return run_checks([])
    ensure_environment()
    if command == "run":
        os.execv(BIN / "shutter", [str(BIN / "shutter"), "run", *rest])
    if command == "fuzz":
        return fuzz(rest)
    return run_checks(rest)


if __name__ == "__main__":
    sys.exit(main())
