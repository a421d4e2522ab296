"""``python -m bench.pdq``: see bench.pdq."""

from __future__ import annotations

import argparse
import asyncio
import resource
import secrets
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np

from bench.harness import percentile, services
from bench.media import write_synthetic_jpeg

SECRET = secrets.token_urlsafe(32)
SEED = 19


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pdq", description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="timed photos (after 1 warm-up)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="blocklist size")
    parser.add_argument("--lookups", type=int, default=2000, help="timed look-ups per method")
    args = parser.parse_args(argv)
    with services() as (database_url, redis_url, scratch):
        asyncio.run(run(database_url, redis_url, scratch, args))
    return 0


async def run(database_url: str, redis_url: str, scratch: Path, args: argparse.Namespace) -> None:
    from resources import open_resources
    from settings import Settings
    from workers import processing_deps

    rng = np.random.default_rng(SEED)
    hashes = rng.integers(0, 256, size=(args.entries, 32), dtype=np.uint8)
    loaded = time.perf_counter()
    await load_blocklist(database_url, hashes)
    print(f"blocklist: {args.entries:,} random PDQ hashes loaded in "
          f"{time.perf_counter() - loaded:.1f} s\n")  # fmt: skip

    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_key=SECRET,
        data_dir=scratch / "data",
    )
    async with open_resources(settings) as resources:
        deps = processing_deps(settings, resources)
        rss_before = _rss_mb()
        built = time.perf_counter()
        index = await deps.blocklist.current_index(resources.db)
        build_s = time.perf_counter() - built
        print(f"index: {len(index):,} entries built in {build_s:.2f} s, "
              f"process RSS +{_rss_mb() - rss_before:.0f} MB\n")  # fmt: skip
        await photo_cost(resources, deps, scratch, args.runs)
        await lookups(resources.db, deps.blocklist, database_url, hashes, rng, args.lookups)


async def load_blocklist(database_url: str, hashes: np.ndarray) -> None:
    """COPY the hashes into known_images (one statement: one generation)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.copy_records_to_table(
            "known_images",
            records=((row.tobytes(), "bench") for row in hashes),
            columns=["hash", "source"],
        )
    finally:
        await conn.close()


async def photo_cost(resources: Any, deps: Any, scratch: Path, runs: int) -> None:
    """The whole pipeline per 12 MP photo, and the PDQ step alone on the same photo."""
    from media.images import process_image
    from media.pdq import PdqHash, hash_encoded
    from services import media, media_processing
    from services.auth import Viewer
    from services.known_images import FrameHash
    from services.media import upload_key
    from storage.pg import users as user_store

    photo = write_synthetic_jpeg(scratch / "photo.jpg").read_bytes()
    owner = await user_store.insert_user(
        resources.db,
        username="bench",
        email="bench@example.com",
        password_hash="$argon2id$not-a-real-hash",  # noqa: S106 (never logged in)
        full_name=None,
    )
    assert owner is not None
    viewer = Viewer(user_id=owner.id, session_id=uuid.uuid4())
    pipeline_ms: list[float] = []
    for number in range(runs + 1):
        created = await media.create_upload(
            resources.media,
            viewer,
            filename="photo.jpg",
            content_type="image/jpeg",
            byte_size=len(photo),
        )
        await resources.blobs.put(
            upload_key(created.media.id), photo, content_type="image/jpeg", cache_control="private"
        )
        await media.complete_upload(resources.media, viewer, created.media.id)
        started = time.perf_counter()
        outcome = await media_processing.process_media(deps, created.media.id, last_try=True)
        elapsed = (time.perf_counter() - started) * 1000
        assert outcome is not None
        assert outcome.status == "READY", outcome
        if number:
            pipeline_ms.append(elapsed)

    # The variant the pipeline hashes (services.media_processing._picture_hash).
    source = next(item for item in process_image(photo).variants if item.name == "640")
    hash_ms, lookup_ms = [], []
    for number in range(runs + 1):
        started = time.perf_counter()
        pdq = hash_encoded(source.data)
        hashed = time.perf_counter()
        # Quality forced to 100: the synthetic photo is smooth at 64x64 (its own quality is
        # printed), and a low-quality hash would skip the look-up this line times.
        usable = PdqHash(pdq.value, 100)
        await deps.blocklist.find(resources.db, [FrameHash(0, None, usable)])
        if number:
            hash_ms.append((hashed - started) * 1000)
            lookup_ms.append((time.perf_counter() - hashed) * 1000)
    pipeline = statistics.median(pipeline_ms)
    step = statistics.median(hash_ms) + statistics.median(lookup_ms)
    print(f"12 MP photo ({len(photo) / 1e6:.1f} MB JPEG, 4000x3000), {runs} runs after 1 warm-up, "
          "medians:")  # fmt: skip
    print(f"  whole pipeline (process_media)      {pipeline:8.1f} ms  (p95 "
          f"{percentile(pipeline_ms, 95):.1f} ms)")  # fmt: skip
    print(f"  PDQ hash of the {source.width} px variant      {statistics.median(hash_ms):8.1f} ms"
          f"  (quality {pdq.quality})")  # fmt: skip
    print(f"  blocklist look-up (quality forced)  {statistics.median(lookup_ms):8.2f} ms")
    print(
        f"  PDQ step / pipeline                 {100 * step / pipeline:8.1f} %  (target <= 10 %)\n"
    )


async def lookups(
    db: Any, blocklist: Any, database_url: str, hashes: np.ndarray, rng: np.random.Generator,
    count: int,
) -> None:  # fmt: skip
    """p50/p95/p99 of Blocklist.find, beside a numpy scan and PostgreSQL multi-index probes."""
    from media.pdq import PdqHash
    from services.known_images import FrameHash
    from services.pdq_index import distances_to

    queries = []
    for number in range(count):
        if number % 2:
            bits = np.unpackbits(hashes[rng.integers(len(hashes))].copy())
            bits[rng.choice(256, int(rng.integers(8, 32)), replace=False)] ^= 1
            queries.append(np.packbits(bits))
        else:
            queries.append(rng.integers(0, 256, 32, dtype=np.uint8))

    index = await blocklist.current_index(db)
    found_ms, matched, candidates = [], 0, 0
    for query in queries:
        started = time.perf_counter()
        match = await blocklist.find(db, [FrameHash(0, None, PdqHash(query.tobytes(), 100))])
        found_ms.append((time.perf_counter() - started) * 1000)
        matched += match is not None
    for query in queries[:200]:
        candidates += index.candidate_count(query.tobytes())
    scan_ms = []
    for query in queries[: max(20, count // 20)]:
        started = time.perf_counter()
        distances = distances_to(hashes, query)
        _ = np.flatnonzero(distances <= 31)
        scan_ms.append((time.perf_counter() - started) * 1000)
    postgres_ms = await postgres_probes(database_url, hashes, queries[: max(100, count // 4)])

    print(f"look-ups, {len(hashes):,} listed hashes, threshold 31 bits "
          f"({matched} of {count} queries matched, as planted):")  # fmt: skip
    print(f"  {'method':<44}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'queries':>9}")
    for name, values in (
        ("Blocklist.find (in-memory multi-index)", found_ms),
        ("baseline: numpy scan of every hash", scan_ms),
        ("alternative: PostgreSQL multi-index probes", postgres_ms),
    ):
        print(f"  {name:<44}{percentile(values, 50):8.2f}{percentile(values, 95):8.2f}"
              f"{percentile(values, 99):8.2f}{len(values):9d}")  # fmt: skip
    print(f"  candidates/query (multi-index, checked exactly): {candidates / 200:.0f}")


async def postgres_probes(
    database_url: str, hashes: np.ndarray, queries: list[np.ndarray]
) -> list[float]:
    """The multi-index done by PostgreSQL: a scratch table with the 16 words of each hash in
    indexed columns; a query probes each word's value and its 16 one-bit neighbours (a
    BitmapOr of 16 index scans) and checks the candidates with bit_count."""
    words = hashes.view(">u2").astype(np.int32)
    columns = ", ".join(f"w{i} integer NOT NULL" for i in range(16))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"CREATE TEMP TABLE words (id integer, hash bit(256), {columns})")
        await conn.copy_records_to_table(
            "words",
            records=(
                (number, asyncpg.BitString.frombytes(row.tobytes()), *map(int, word))
                for number, (row, word) in enumerate(zip(hashes, words, strict=True))
            ),
        )
        for i in range(16):
            await conn.execute(f"CREATE INDEX ON words (w{i})")
        await conn.execute("ANALYZE words")
        probes = " OR ".join(f"w{i} = ANY(${i + 2}::integer[])" for i in range(16))
        statement = await conn.prepare(
            f"SELECT id FROM words WHERE ({probes}) AND bit_count(hash # $1::bit(256)) <= 31"  # noqa: S608 (constants)
        )
        flips = [0] + [1 << bit for bit in range(16)]
        timings = []
        for query in queries:
            query_words = query.view(">u2").astype(int)
            arguments = [[int(word) ^ flip for flip in flips] for word in query_words]
            started = time.perf_counter()
            await statement.fetch(asyncpg.BitString.frombytes(query.tobytes()), *arguments)
            timings.append((time.perf_counter() - started) * 1000)
        return timings
    finally:
        await conn.close()


def _rss_mb() -> float:
    with Path("/proc/self/status").open() as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    raise SystemExit(main())
