"""`shutter run` owns its data directory: killed (SIGKILL) mid-upload and started again, it stops
the Valkey its predecessor left running (never two servers on one append-only file), removes the
temporary files the killed process left, and stops PostgreSQL when it stops; a second `shutter
run` on the same folder is refused with a clear message. Real processes throughout; every wait
is for a real condition, bounded."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from services.seed import DEMO_PASSWORD
from tests.conftest import free_port
from tests.test_cli import ROOT, SHUTTER, clean_env, graphql, start, stop, wait_until_up

WAIT_SECONDS = 30.0
SIGN_UP = (
    'mutation { signUp(input: {username: "uploader", email: "u@example.com", '
    'password: "long enough"}) { accessToken userErrors { code } } }'
)
CREATE_UPLOAD = """
mutation Create($input: CreateUploadInput!) {
  createUpload(input: $input) { uploadUrl uploadHeaders { name value } userErrors { code } }
}
"""
UPLOAD_BYTES = 200_000
DEMO_LOG_IN = (
    f'mutation {{ logIn(input: {{usernameOrEmail: "demo", password: "{DEMO_PASSWORD}"}}) '
    "{ accessToken } }"
)


def valkeys_on(folder: Path) -> list[psutil.Process]:
    """Running valkey-server processes whose working directory is `folder`."""
    found = []
    for process in psutil.process_iter(["name", "cwd", "status"]):
        info = process.info
        if (
            (info["name"] or "").startswith("valkey-server")
            and info["cwd"]
            and Path(info["cwd"]).resolve() == folder.resolve()
            and info["status"] != psutil.STATUS_ZOMBIE
        ):
            found.append(process)
    return found


def postgres_on(pgdata: Path) -> list[psutil.Process]:
    """Running postgres server processes started on `pgdata` (its postmaster)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline", "status"]):
        info = process.info
        if (
            info["name"] == "postgres"
            and str(pgdata.resolve()) in (info["cmdline"] or [])
            and info["status"] != psutil.STATUS_ZOMBIE
        ):
            found.append(process)
    return found


def wait_for(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {WAIT_SECONDS:.0f} s")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@contextlib.contextmanager
def half_sent_upload(base_url: str) -> Iterator[socket.socket]:
    """An upload whose PUT has sent half its body and waits: the server streams it into a
    temporary file that exists until the body is complete."""
    token = graphql(base_url, SIGN_UP)["data"]["signUp"]["accessToken"]  # type: ignore[index]
    created = httpx.post(
        f"{base_url}/graphql",
        json={
            "query": CREATE_UPLOAD,
            "variables": {
                "input": {
                    "filename": "big.jpg",
                    "contentType": "image/jpeg",
                    "byteSize": UPLOAD_BYTES,
                }
            },
        },
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["data"]["createUpload"]
    assert created["userErrors"] == [], created
    url = urlsplit(created["uploadUrl"])
    headers = {h["name"]: h["value"] for h in created["uploadHeaders"]}
    headers |= {"host": url.netloc, "content-length": str(UPLOAD_BYTES)}
    head = f"PUT {url.path}?{url.query} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    with socket.create_connection((url.hostname, url.port or 80), timeout=10) as connection:
        connection.sendall((head + "\r\n").encode() + b"\xff" * (UPLOAD_BYTES // 2))
        yield connection


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def stop_leftovers(data_dir: Path) -> None:
    """Whatever a failed test left running on `data_dir` (never other tests' servers)."""
    for process in [*valkeys_on(data_dir / "valkey"), *postgres_on(data_dir / "postgres")]:
        with contextlib.suppress(psutil.Error):
            process.kill()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "var"
    try:
        yield folder
    finally:
        stop_leftovers(folder)


def test_a_killed_run_is_cleaned_up_by_the_next_and_a_second_run_is_refused(
    data_dir: Path,
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    valkey_dir, pgdata = data_dir / "valkey", data_dir / "postgres"
    processes: list[subprocess.Popen[str]] = []
    try:
        killed = start(data_dir, port)
        processes.append(killed)
        wait_until_up(killed, base_url)
        [old_valkey] = valkeys_on(valkey_dir)
        with half_sent_upload(base_url):
            wait_for(lambda: files_under(data_dir / "media" / ".tmp"), "the upload's temp file")
            killed.kill()
            killed.wait(timeout=WAIT_SECONDS)
        leftovers = files_under(data_dir / "media" / ".tmp")
        scratch_left = sorted((data_dir / "tmp").iterdir())
        assert len(leftovers) == 1, leftovers
        assert len(scratch_left) == 1, scratch_left
        assert not gone(old_valkey.pid), "the killed run's Valkey should outlive it"
        assert postgres_on(pgdata), "the killed run's PostgreSQL should outlive it"

        restarted = start(data_dir, port)
        processes.append(restarted)
        wait_until_up(restarted, base_url)
        assert gone(old_valkey.pid), "the leftover Valkey still runs"
        [new_valkey] = valkeys_on(valkey_dir)
        assert new_valkey.pid != old_valkey.pid
        assert not leftovers[0].exists()
        assert not any(path.exists() for path in scratch_left)
        assert files_under(data_dir / "media" / ".tmp") == []

        second = start(data_dir, free_port())
        processes.append(second)
        output, _ = second.communicate(timeout=WAIT_SECONDS)
        assert second.returncode == 1, output
        assert f"is in use by shutter run (pid {restarted.pid})" in output, output
        assert "Traceback" not in output
        assert valkeys_on(valkey_dir) == [new_valkey]

        output = stop(restarted)
        assert restarted.returncode == 0, output
        assert valkeys_on(valkey_dir) == []
        # The killed run's registration with pgserver is forgotten: the last user stops it.
        assert postgres_on(pgdata) == []
        assert not (pgdata / "postmaster.pid").exists()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=WAIT_SECONDS)


def test_seed_next_to_a_running_run_shares_its_servers_and_completes(data_dir: Path) -> None:
    """The README's path: `shutter seed` next to a running `shutter run` on the same folder
    uses its servers (no second Valkey) and ends with every picture READY, although the run's
    worker takes the seed's media jobs."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    run = start(data_dir, port)
    try:
        wait_until_up(run, base_url)
        [valkey] = valkeys_on(data_dir / "valkey")
        seeded = subprocess.run(
            [*SHUTTER, "seed", "--users", "3", "--posts-per-user", "2"],
            cwd=ROOT,
            env=clean_env(data_dir),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert seeded.returncode == 0, seeded.stderr
        assert "Seeded 3 users" in seeded.stdout, seeded.stdout
        assert valkeys_on(data_dir / "valkey") == [valkey]
        logged_in = graphql(base_url, DEMO_LOG_IN)
        token = logged_in["data"]["logIn"]["accessToken"]  # type: ignore[index]
        feed = httpx.post(
            f"{base_url}/graphql",
            json={"query": "{ feed(first: 50) { edges { node { media { status } } } } }"},
            headers={"authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        statuses = [
            item["status"]
            for edge in feed["data"]["feed"]["edges"]
            for item in edge["node"]["media"]
        ]
        assert statuses
        assert set(statuses) == {"READY"}
    finally:
        output = stop(run)
    assert run.returncode == 0, output
