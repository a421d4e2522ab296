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
cache (re-checked every 30 s), parsed-document caches, and /metrics (each process reports its
own).

The parent forwards SIGTERM to the children and waits for their graceful shutdown; a child that
exits on its own ends the parent too (with an error), so that a supervisor (systemd, Docker,
Kubernetes) restarts the whole set. Children get SIGTERM if the parent dies (Linux).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping

log = logging.getLogger("shutter.server")

_PR_SET_PDEATHSIG = 1


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
    to this process's environment. Side effects: the child processes (stop them with
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
    finish, websockets close with 1001), then wait; SIGKILL after `grace_seconds` + 5 s."""
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
