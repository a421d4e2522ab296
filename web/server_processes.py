"""Several API server processes on one port (`shutter serve|run`, WEB_CONCURRENCY).

One Python process runs the GraphQL executor on one core at a time; to use every core, the
parent starts WEB_CONCURRENCY child processes (`shutter serve --reuse-port`), each a whole API
server (its own event loop, PostgreSQL pool and Redis clients) listening on the same port with
SO_REUSEPORT: the kernel spreads new connections over their sockets by a hash of the client's
address and port. (One socket shared by all of them, the pre-fork way, let whichever process
woke first accept nearly every connection: measured under bench.graphql_feed, one of two
processes used 96% of their CPU.) What processes share lives in PostgreSQL and Redis
already: sessions, budgets, rate limits, feeds, and live events (subscriptions cross processes
by Redis pub/sub, tests/api/test_live_across_processes.py). Per process: the ranker model
cache (re-checked every 30 s) and parsed-document caches.

Metrics are shared through files: the parent creates an empty private directory
(`shared_metrics_directory`, under the process's temporary folder, removed at exit) and exports
it as PROMETHEUS_MULTIPROC_DIR before any process of the set imports prometheus-client; each
process (and the parent, which runs the worker under `shutter run`) writes its values there, and
/metrics of any process serves the merge of them all (metrics.py). A child that exits is marked
dead (`forget_process_metrics`): its live gauges (open websockets) stop counting, its counters
stay in the totals.

The parent forwards SIGTERM to the children and waits for their graceful shutdown; a child that
exits on its own ends the parent too (with an error), so that a supervisor (systemd, Docker,
Kubernetes) restarts the whole set. Children get SIGTERM if the parent dies (Linux).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

log = logging.getLogger("shutter.server")

_PR_SET_PDEATHSIG = 1

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def shared_metrics_directory() -> Iterator[Path]:
    """For the block: a fresh, empty directory for the metric files of every process of the set
    (prometheus-client's multiprocess mode), exported to this process's environment, so to the
    processes started in the block, and to this one's own later import of prometheus-client.

    Call it before anything in this process imports prometheus-client (RuntimeError otherwise:
    this process's metrics would stay in memory, outside the merge). Side effects: creates the
    directory (tempfile's folder: under `shutter serve|run`, the process's temporary folder in
    SHUTTER_DATA_DIR/tmp, which the next process cleans if this one is killed), sets
    PROMETHEUS_MULTIPROC_DIR; both undone when the block ends."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError(
            "prometheus_client was imported before the shared metrics directory was set up"
        )
    directory = Path(tempfile.mkdtemp(prefix="metrics-"))
    previous = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    os.environ[MULTIPROCESS_DIR_VARIABLE] = str(directory)
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(MULTIPROCESS_DIR_VARIABLE, None)
        else:
            os.environ[MULTIPROCESS_DIR_VARIABLE] = previous
        shutil.rmtree(directory, ignore_errors=True)


def forget_process_metrics(pid: int) -> None:
    """Mark process `pid` dead in the shared metrics directory (prometheus-client's
    mark_process_dead): its live gauges leave the merge; its counters and histograms stay.
    Nothing without a directory. Side effect: removes that process's live-gauge files."""
    directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if not directory:
        return
    from prometheus_client.multiprocess import mark_process_dead

    mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def shared_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on (host, port) with SO_REUSEPORT: the other server processes of
    the set listen on the same port. Raises OSError when another program holds the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent process dies (Linux prctl)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start_server_processes(
    count: int, host: str, port: int, env: Mapping[str, str]
) -> list[subprocess.Popen[bytes]]:
    """Start `count` `shutter serve --reuse-port` processes on (host, port), with `env` added
    to this process's environment (PROMETHEUS_MULTIPROC_DIR included, when set:
    shared_metrics_directory). Side effects: the child processes (stop them with
    stop_server_processes)."""
    command = [sys.executable, "-m", "cli", "serve", "--host", host, "--port", str(port)]
    return [
        subprocess.Popen(  # noqa: S603 (this interpreter, our own module, an address)
            [*command, "--reuse-port"],
            env=os.environ | dict(env) | {"WEB_CONCURRENCY": "1"},
            preexec_fn=_die_with_parent,  # a prctl call only: safe between fork and exec
        )
        for _ in range(count)
    ]


def exited(processes: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes] | None:
    """The first process that has exited, or None while all run. No side effects."""
    return next((process for process in processes if process.poll() is not None), None)


def stop_server_processes(processes: list[subprocess.Popen[bytes]], grace_seconds: float) -> None:
    """SIGTERM to each process still running (each shuts down gracefully: in-flight requests
    finish, websockets close with 1001), then wait; SIGKILL after `grace_seconds` + 5 s. Each
    process is marked dead in the shared metrics directory once it has exited
    (forget_process_metrics)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds + 5
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            log.warning("API process %d did not stop in time: killed", process.pid)
            process.kill()
            process.wait()
        forget_process_metrics(process.pid)
