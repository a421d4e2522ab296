"""`python -m bench.verification_mail`: sign-up → verification mail delivered, on an idle system.

Starts `shutter run` exactly as the README does (embedded PostgreSQL and Valkey, the worker in
the same process, no SMTP_URL: mail goes to the outbox folder) on a fresh data directory, then
signs up `--users` accounts one after another. Each is timed from just before its signUp POST
until its verification message is complete in the outbox (the .eml file appears by an atomic
rename, so its presence means the whole message). Prints p50, p90 and the maximum, and the
signUp round trip alone as the baseline the queue and the worker add to.

The wait polls the outbox folder every millisecond (the file's arrival is announced nowhere
else); that bounds the figure's resolution at about 1 ms.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import free_port, percentile

ROOT = Path(__file__).resolve().parent.parent.parent
SIGN_UP = """mutation M($input: SignUpInput!) { signUp(input: $input) { userErrors { code } } }"""


def wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("shutter run exited early")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("shutter run did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mail-") as scratch:
        data_dir = Path(scratch) / "var"
        outbox = data_dir / "outbox"
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env |= {"SHUTTER_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", "ACCESS_LOG": "false"}
        env |= {"SIGN_UPS_PER_IP": "100000"}  # one client signs everyone up
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "run", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(base_url, process)
            delivered: list[float] = []
            round_trips: list[float] = []
            with httpx.Client(base_url=base_url, timeout=10) as client:
                for index in range(args.users):
                    name = f"bench{index}"
                    variables = {
                        "input": {
                            "username": name,
                            "email": f"{name}@example.com",
                            "password": "long enough password",
                        }
                    }
                    expected = index + 1
                    started = time.perf_counter()
                    response = client.post(
                        "/graphql", json={"query": SIGN_UP, "variables": variables}
                    )
                    round_trips.append(time.perf_counter() - started)
                    assert response.json()["data"]["signUp"]["userErrors"] == [], response.text
                    while len(list(outbox.glob("*.eml")) if outbox.is_dir() else []) < expected:
                        if time.perf_counter() - started > 30:
                            raise SystemExit("no verification mail within 30 s")
                        time.sleep(0.001)
                    delivered.append(time.perf_counter() - started)
                    time.sleep(0.05)  # idle between sign-ups
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)

    def ms(values: list[float], p: float) -> str:
        return f"{percentile(values, p) * 1000:.1f} ms"

    print(
        f"{args.users} sign-ups, one at a time, `shutter run` defaults (outbox, in-process worker)"
    )
    print(
        f"sign-up -> verification mail in the outbox: p50 {ms(delivered, 50)}, "
        f"p90 {ms(delivered, 90)}, max {max(delivered) * 1000:.1f} ms"
    )
    print(f"signUp round trip alone: p50 {ms(round_trips, 50)}, p90 {ms(round_trips, 90)}")


if __name__ == "__main__":
    main()
