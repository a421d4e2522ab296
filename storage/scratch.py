"""Temporary files that a crash cannot leave behind for good.

A process killed mid-write (SIGKILL, OOM, power loss) never runs its `finally` blocks: the
folder it was rendering a video in, or the half-received upload, stays on disk. Each process
therefore writes its temporary files into a folder of its own, named for the process (`pid`
and start time, so that a reused pid does not pass for its predecessor), and every process
that starts removes the folders of processes that are gone. Running processes' folders are
never touched, so processes sharing a data directory (`shutter run` with `shutter seed`, or
`shutter serve` next to `shutter worker`) do not disturb one another.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil

log = logging.getLogger(__name__)


def process_tag(pid: int | None = None) -> str:
    """`<pid>-<start time in centiseconds>` of process `pid` (this one by default). Raises
    psutil.NoSuchProcess when it is gone."""
    process = psutil.Process(pid)
    return f"{process.pid}-{round(process.create_time() * 100)}"


def is_live_tag(name: str) -> bool:
    """Whether `name` is the process_tag of a process that still runs (a zombie does not)."""
    pid, _, _started = name.partition("-")
    if not pid.isdigit():
        return False
    try:
        return process_tag(int(pid)) == name and psutil.Process(int(pid)).status() != (
            psutil.STATUS_ZOMBIE
        )
    except psutil.Error:
        return False


def process_folder(parent: Path) -> Path:
    """This process's own folder under `parent` (created if needed). Side effect: mkdir."""
    folder = parent / process_tag()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_abandoned(parent: Path) -> list[Path]:
    """Remove every entry of `parent` that is not the folder of a running process: what gone
    processes left (and any loose file). Returns what was removed.

    Side effects: deletes files and folders under `parent`; logs what it removed."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in sorted(parent.iterdir()):
            if entry.is_dir() and not entry.is_symlink() and is_live_tag(entry.name):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    if removed:
        log.info(
            "removed %d temporary entries left by stopped processes in %s", len(removed), parent
        )
    return removed


@contextlib.contextmanager
def temporary_files_in(parent: Path) -> Iterator[Path]:
    """For the block: every temporary file of this process (Python's `tempfile`, and libvips
    and child processes through TMPDIR) goes into this process's folder under `parent`.

    Side effects: first removes what stopped processes left under `parent`; sets
    `tempfile.tempdir` and TMPDIR for the block (restored afterwards); removes the process's
    folder when the block ends."""
    remove_abandoned(parent)
    folder = process_folder(parent)
    previous_tempdir, previous_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = previous_tempdir
        if previous_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous_env
        shutil.rmtree(folder, ignore_errors=True)
