"""Per-process temporary folders: what stopped processes left is removed, what running ones
write is not (real processes: one still running, one that has exited)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.scratch import process_tag, remove_abandoned, temporary_files_in


@pytest.fixture
def running_process() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


def test_only_the_folders_of_stopped_processes_are_removed(
    tmp_path: Path, running_process: subprocess.Popen[bytes]
) -> None:
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited_tag = process_tag(exited.pid)
    exited.wait(timeout=10)
    folders = {
        "mine": tmp_path / process_tag(),
        "running": tmp_path / process_tag(running_process.pid),
        "exited": tmp_path / exited_tag,
        # The pid of a running process with another start time: the pid was reused.
        "reused": tmp_path / f"{running_process.pid}-1",
    }
    for folder in folders.values():
        (folder / "part").mkdir(parents=True)
        (folder / "part" / "file").write_bytes(b"partial")
    (tmp_path / "loose-file").write_bytes(b"old layout")

    removed = remove_abandoned(tmp_path)

    assert sorted(removed) == sorted(
        [folders["exited"], folders["reused"], tmp_path / "loose-file"]
    )
    assert sorted(tmp_path.iterdir()) == sorted([folders["mine"], folders["running"]])
    assert (folders["running"] / "part" / "file").read_bytes() == b"partial"


def test_temporary_files_go_to_the_process_folder_which_is_removed_at_the_end(
    tmp_path: Path,
) -> None:
    before = tempfile.gettempdir(), os.environ.get("TMPDIR")
    with temporary_files_in(tmp_path) as folder:
        assert folder == tmp_path / process_tag()
        with tempfile.TemporaryDirectory(prefix="media-1-") as working:
            assert Path(working).parent == folder
        assert os.environ["TMPDIR"] == str(folder)
    assert not folder.exists()
    assert (tempfile.gettempdir(), os.environ.get("TMPDIR")) == before
