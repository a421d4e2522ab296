"""tests/hypothesis_profiles.py: seeded draws that still use the example database, a database in
which a failure stays, and the profiles the suite and `python3 dev.py fuzz` load.

These lean on Hypothesis's internals (the seed attribute, the database's keys): an upgrade that
changes them fails here rather than silently turning the suite random or its replay off.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    InMemoryExampleDatabase,
    ReadOnlyDatabase,
)

from tests import hypothesis_profiles
from tests.hypothesis_profiles import AppendOnlyExampleDatabase, seed_hypothesis_test


def files_under(path: Path) -> set[Path]:
    return {file for file in path.rglob("*") if file.is_file()}


def drawing_test(
    database: ExampleDatabase | None, fails_when: Callable[[int], bool] = lambda _: False
) -> tuple[Callable[[], None], list[int]]:
    """A Hypothesis test of integers that records what it was called with, and fails on those
    `fails_when` accepts (the same function, so the same database key, whatever it accepts)."""
    drawn: list[int] = []

    @settings(
        database=database,
        max_examples=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.integers(min_value=0, max_value=10**9))
    def under_test(number: int) -> None:
        drawn.append(number)
        assert not fails_when(number)

    return under_test, drawn


def test_a_seeded_test_draws_the_same_examples_and_another_seed_others() -> None:
    first, first_drawn = drawing_test(InMemoryExampleDatabase())
    again, again_drawn = drawing_test(InMemoryExampleDatabase())
    other, other_drawn = drawing_test(InMemoryExampleDatabase())
    seed_hypothesis_test(first, 0)
    seed_hypothesis_test(again, 0)
    seed_hypothesis_test(other, 1)

    first()
    again()
    other()

    assert len(first_drawn) == 30
    assert first_drawn == again_drawn
    assert first_drawn != other_drawn


def test_a_seeded_test_replays_a_saved_failure_first() -> None:
    database = InMemoryExampleDatabase()
    failing, _ = drawing_test(database, fails_when=lambda number: number >= 1000)
    seed_hypothesis_test(failing, 1)
    with pytest.raises(AssertionError):
        failing()
    assert len(database.data) >= 1  # saved, although the test was seeded

    replaying, replayed = drawing_test(database, fails_when=lambda number: number >= 1000)
    seed_hypothesis_test(replaying, 2)
    with pytest.raises(AssertionError):
        replaying()

    assert replayed[0] == 1000  # the shrunk failure, before anything drawn from seed 2


def test_a_passing_run_saves_nothing(tmp_path: Path) -> None:
    passing, drawn = drawing_test(AppendOnlyExampleDatabase(tmp_path / "examples"))
    seed_hypothesis_test(passing, 3)

    passing()

    assert len(drawn) == 30
    assert files_under(tmp_path) == set()


def failure_files(examples: Path) -> set[Path]:
    """The saved failures (leaving out the index of the keys)."""
    index = DirectoryBasedExampleDatabase._metakeys_hash
    return {file for file in files_under(examples) if file.parent.name != index}


def test_a_failure_saved_stays_when_it_passes_again_and_is_replayed_read_only(
    tmp_path: Path,
) -> None:
    examples = tmp_path / "examples"
    threshold = [1000]
    failing, _ = drawing_test(
        AppendOnlyExampleDatabase(examples), fails_when=lambda number: number >= threshold[0]
    )
    seed_hypothesis_test(failing, 4)
    with pytest.raises(AssertionError):
        failing()
    saved = files_under(examples)
    assert len(failure_files(examples)) == 1  # the shrunk failure, not the steps towards it

    # "Fixed": the saved failure passes now. A later exploring run (a new database object)
    # replays it first, and Hypothesis asks to delete it: the file stays.
    threshold[0] = 10**10
    fixed, replayed = drawing_test(
        AppendOnlyExampleDatabase(examples), fails_when=lambda number: number >= threshold[0]
    )
    seed_hypothesis_test(fixed, 5)
    fixed()
    assert replayed[0] == 1000
    assert files_under(examples) == saved

    # Broken again: the suite's read-only view replays it first and writes nothing.
    threshold[0] = 1000
    suite, suite_drawn = drawing_test(
        ReadOnlyDatabase(DirectoryBasedExampleDatabase(examples)),
        fails_when=lambda number: number >= threshold[0],
    )
    seed_hypothesis_test(suite, 0)
    with pytest.raises(AssertionError):
        suite()
    assert suite_drawn[0] == 1000
    assert files_under(examples) == saved


def test_only_this_runs_failures_can_be_replaced_and_working_sets_are_not_written(
    tmp_path: Path,
) -> None:
    """Hypothesis moves a failure to the test's working set when it finds a smaller one of the
    same kind (which may be another bug), and deletes one that passes."""
    examples = tmp_path / "examples"
    key, working_set = b"a test", b"a test.secondary"
    AppendOnlyExampleDatabase(examples).save(key, b"earlier run")

    this_run = AppendOnlyExampleDatabase(examples)
    this_run.save(key, b"this run")
    this_run.move(key, working_set, b"earlier run")
    this_run.delete(key, b"earlier run")
    this_run.save(key, b"this run, smaller")
    this_run.move(key, working_set, b"this run")

    reader = DirectoryBasedExampleDatabase(examples)
    assert set(reader.fetch(key)) == {b"earlier run", b"this run, smaller"}
    assert list(reader.fetch(working_set)) == []
    assert set(reader.fetch(DirectoryBasedExampleDatabase._metakeys_name)) == {key}


def test_the_suite_replays_read_only_and_explore_appends() -> None:
    suite = settings.get_profile(hypothesis_profiles.SUITE)
    explore = settings.get_profile(hypothesis_profiles.EXPLORE)

    assert not suite.derandomize
    assert not explore.derandomize
    assert isinstance(suite.database, ReadOnlyDatabase)
    assert isinstance(explore.database, AppendOnlyExampleDatabase)
    assert explore.database.path == hypothesis_profiles.EXAMPLES_DIR
