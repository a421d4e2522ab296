"""`python -m bench.cpu_ab REV`: server CPU per GraphQL request, this tree against git revision
REV, measured side by side.

Throughput on a shared 2-core machine swings by 1.5-2x within minutes (other tenants), so two
benchmark runs minutes apart cannot tell a 5% change. Here both apps run at once, each in its
own process pinned to the same CPU, on the same data (bench.datagen), and serve alternating
batches of requests in-process (no HTTP client competing for CPU): each pair of batches meets
the same machine, and the median of the per-pair ratios is the answer. Printed: CPU ms per
request of each side (10th percentile and median over batches) and the ratio this/REV.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg

from bench import datagen
from bench.graphql_feed.__main__ import attach_media
from bench.harness import BENCH_SERVER_ENV, ROOT, api_env, services

WORKER = Path(__file__).with_name("worker.py")
GIT = shutil.which("git") or "git"


async def generate(database_url: str) -> datagen.Dataset:
    db = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    assert db is not None
    try:
        data = await datagen.generate(db)
        await attach_media(db)
        return data
    finally:
        await db.close()


def start(code: Path, env: dict[str, str], query: str, viewer_id: int) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), "--code", str(code), "--query", query,
         "--viewer", str(viewer_id)],
        cwd=code, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert worker.stdout is not None
    if worker.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the app of {code} did not start")
    return worker


def batch(worker: subprocess.Popen[str], requests: int) -> float:
    assert worker.stdin is not None
    assert worker.stdout is not None
    worker.stdin.write(f"go {requests}\n")
    worker.stdin.flush()
    return float(worker.stdout.readline())


def compare(base: Path, env: dict[str, str], args: argparse.Namespace, viewer_id: int) -> None:
    workers = [start(base, env, args.query, viewer_id), start(ROOT, env, args.query, viewer_id)]
    times: tuple[list[float], list[float]] = ([], [])
    try:
        for round_ in range(args.rounds):
            order = (0, 1) if round_ % 2 == 0 else (1, 0)  # neither side always goes first
            for side in order:
                times[side].append(batch(workers[side], args.batch))
    finally:
        for worker in workers:
            worker.communicate("stop\n", timeout=60)
    for name, values in ((args.rev, times[0]), ("this tree", times[1])):
        tenth = sorted(values)[len(values) // 10]
        median = statistics.median(values)
        print(f"{name:>12}: CPU per request p10 {tenth:.3f} ms, median {median:.3f} ms")
    ratios = sorted(this / base for base, this in zip(*times, strict=True))
    quartiles = ratios[len(ratios) // 4], ratios[3 * len(ratios) // 4]
    print(
        f"this tree / {args.rev}: median {statistics.median(ratios):.3f} "
        f"(quartiles {quartiles[0]:.3f}..{quartiles[1]:.3f}, {len(ratios)} pairs of "
        f"{args.batch} {args.query} requests)"
    )


def main(args: argparse.Namespace) -> None:
    with services() as (database_url, redis_url, scratch), tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            [GIT, "worktree", "add", "--detach", "--quiet", str(base), args.rev],
            cwd=ROOT, check=True,
        )  # fmt: skip
        try:
            print("generating the shared data set ...", flush=True)
            data = asyncio.run(generate(database_url))
            env = (
                os.environ
                | BENCH_SERVER_ENV
                | api_env(database_url, redis_url, scratch, secrets.token_urlsafe(32))
                | {"CELEBRITY_FOLLOWER_THRESHOLD": str(data.spec.celebrity_threshold)}
            )
            compare(base, env, args, data.viewers[200])
        finally:
            subprocess.run([GIT, "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rev", help="the git revision to compare with (e.g. HEAD~1, main)")
    parser.add_argument(
        "--query", choices=["feed", "ranked", "ranked-next", "viewer"], default="feed"
    )
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--batch", type=int, default=25, help="requests per batch")
    main(parser.parse_args())
