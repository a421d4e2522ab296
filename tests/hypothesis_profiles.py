"""The Hypothesis settings profiles of the suite and of `python3 dev.py fuzz`, the example database
they share, and the seeds of their draws.

- `suite` (loaded by default): every Hypothesis test first replays the failures saved under
  tests/hypothesis-examples/ (read-only: the suite never writes there), then draws the same
  examples on every run (a seed per test: `SEED_VARIABLE`, 0 when unset, and the test's name).
- `explore` (`--hypothesis-profile=explore`, what `python3 dev.py fuzz` runs): the same tests draw
  from a fresh seed (`SEED_VARIABLE`, or a random one), and every failure found is saved in
  tests/hypothesis-examples/ for good (`AppendOnlyExampleDatabase`): committed with its fix, it
  is replayed by every later run of the suite.

Why not `derandomize=True` or `--hypothesis-seed`: Hypothesis turns its example database off
under both (derandomize implies `database=None`; a global seed gives no database key), so a
deterministic test could never replay a saved failure. Each test is seeded instead through the
attribute `@hypothesis.seed` sets (`_hypothesis_internal_use_seed`, read when the test runs),
which leaves the database on; tests/test_hypothesis_profiles.py fails if that stops working.

A saved example is keyed by its test's source (decorators and comments excluded): editing a
test's body leaves its saved examples unused. To keep a case for good whatever the edits, write
it as an `@example` (tests/services/test_feed_oracle.py has one).
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import is_hypothesis_test, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ReadOnlyDatabase

EXAMPLES_DIR = Path(__file__).resolve().parent / "hypothesis-examples"
SUITE = "suite"
EXPLORE = "explore"
SEED_VARIABLE = "SHUTTER_HYPOTHESIS_SEED"
"""The base seed of the draws (an integer); the suite's is 0 when the variable is unset."""
WORKING_SET_SUFFIXES = (b".secondary", b".pareto")
"""Hypothesis keeps a test's failures under the test's key, and its working sets (examples that
failed on the way to the smallest one, the best of `target()`) under the key plus one of these."""


class AppendOnlyExampleDatabase(DirectoryBasedExampleDatabase):
    """A directory of failing examples in which a failure, once saved, stays.

    Hypothesis deletes a saved failure once it passes, and when it finds a smaller failure of
    the same kind (the same exception at the same line, which may be another bug) it moves the
    larger one out of the test's failures. Here a failure from an earlier run (one this object
    did not save) is never deleted or moved out; one saved by this run may still be replaced by
    a smaller one, so one bug leaves one file. Hypothesis's working sets (the larger failures
    met while shrinking, the best examples of `target()`) are not written: the directory holds
    failures only, small enough to commit. Side effects: writes files under `path`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path)
        self._saved_by_this_run: set[tuple[bytes, bytes]] = set()

    def save(self, key: bytes, value: bytes) -> None:
        if is_working_set_key(key):
            return
        if is_failure_key(key) and value not in set(self.fetch(key)):
            self._saved_by_this_run.add((key, value))
        super().save(key, value)

    def delete(self, key: bytes, value: bytes) -> None:
        if is_failure_key(key) and (key, value) not in self._saved_by_this_run:
            return
        self._saved_by_this_run.discard((key, value))
        super().delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.save(dest, value)
        self.delete(src, value)


def is_working_set_key(key: bytes) -> bool:
    return key.endswith(WORKING_SET_SUFFIXES)


def is_failure_key(key: bytes) -> bool:
    """Whether `key` holds a test's saved failures (not a working set, not the key index)."""
    return key != DirectoryBasedExampleDatabase._metakeys_name and not is_working_set_key(key)


def register_profiles() -> None:
    """Register `suite` and `explore`, and load `suite` (the plugin then loads the profile of
    `--hypothesis-profile`, if given). Side effects: Hypothesis's global settings."""
    # derandomize=False said outright: under CI=true Hypothesis loads its own `ci` profile at
    # import (derandomize=True, no database), which a profile would otherwise inherit, and
    # the suite would then never replay a saved failure on CI. No deadline, on CI or not: a
    # busy shared machine is no reason for a test to fail (the tests' own bounds catch hangs).
    settings.register_profile(
        SUITE,
        derandomize=False,
        deadline=None,
        database=ReadOnlyDatabase(DirectoryBasedExampleDatabase(EXAMPLES_DIR)),
    )
    settings.register_profile(
        EXPLORE,
        derandomize=False,
        deadline=None,
        database=AppendOnlyExampleDatabase(EXAMPLES_DIR),
    )
    settings.load_profile(SUITE)


def base_seed(profile: str) -> int:
    """The seed of this run's draws: `SEED_VARIABLE` if set, else 0 for the suite and a fresh
    random one otherwise (exploring)."""
    configured = os.environ.get(SEED_VARIABLE, "").strip()
    if configured:
        return int(configured)
    return 0 if profile == SUITE else random.SystemRandom().getrandbits(32)


def seed_of_test(base: int, name: str) -> int:
    """The seed of one test: another for every test, stable across runs and processes."""
    digest = hashlib.sha256(f"{base}:{name}".encode()).digest()
    return int.from_bytes(digest[:16], "big")


def seed_hypothesis_test(function: Any, base: int) -> None:
    """Make a Hypothesis test draw from `base` and its qualified name, as `@hypothesis.seed`
    would, but with its example database left on. Side effects: sets an attribute of
    `function`."""
    name = f"{function.__module__}.{function.__qualname__}"
    function._hypothesis_internal_use_seed = seed_of_test(base, name)


def seed_hypothesis_tests(items: Iterable[pytest.Item], base: int) -> None:
    """Seed every Hypothesis test among `items` (all the parameters of one test share its
    seed). Side effects: sets an attribute of the test functions."""
    for item in items:
        function = getattr(item, "obj", None)
        function = getattr(function, "__func__", function)  # a method: its function
        if function is not None and is_hypothesis_test(function):
            seed_hypothesis_test(function, base)
