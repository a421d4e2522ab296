"""`python -m bench.data_export [--posts N]`: one data export of an account with N posts (500).

Throwaway embedded PostgreSQL and Valkey and the local blob store, all in a temporary folder
(bench.harness.services). The account is shaped like real use: each post is a READY picture
or a carousel of two or three (as the demo seed draws them) whose original is a real 1080x1350
JPEG (about 190 KB, cropped from a synthetic photo made with pyvips, each one different) sealed
in the blob store under `uploads/<media id>/sealed-<random>`; captions with one to three
hashtags; likes (0-12) and comments (0-3) on each post from other accounts; the account's own
likes and comments on others' posts; followers and followings; its notifications grouped as the
app groups them (one LIKE and one COMMENT group per post, FOLLOW groups). Rows are COPYed in
directly; counters (like/comment/follower/post counts, hashtag counts) are exact.

The export then runs as the worker runs it, in a child process of its own (`--child`): the
worker's start-up hook (`workers.worker_options(...)["on_startup"]`, which opens the same
resources) builds the job context, and `workers.leaving_jobs.export_data(ctx, user_id,
export_id)` is awaited for an export queued by `services.data_export.request_data_export`.
The child measures, around that call alone:

- wall time (`perf_counter`) and the process's CPU time (`process_time`: user + system of every
  thread, so the zip writes handed to threads count);
- peak memory as resident set size: the child resets the kernel's high-water mark
  (`/proc/self/clear_refs` 5) just before the job and reads `VmHWM` after it, beside `VmRSS`
  just before (so the growth the job caused shows apart from the worker's imports); the
  child's whole-life `ru_maxrss` (from `os.wait4`) is printed too.

The baseline, in the same child and on the same originals (same order, same blob store): each
original streamed out of the blob store (`BlobStore.download` to a temporary file, then appended
to one output file), i.e. the two copies the export makes of each original, without the zip,
its CRCs, the JSON sections or the database; then the same output file stored into the blob
store (`put_file`, the export's upload step). It runs before and after the export (the machine
is shared: the two runs show the drift). The originals are in the page cache for every run
(the bench has just written them): these are warm-cache figures.

The parent then opens the finished zip and checks it: entries, JSON sections' sizes, and every
original present with its exact byte size.

Side effects: a temporary folder (servers, blob store, the child's temporary files; removed at
exit) and one child process (waited for).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bench.harness import ROOT, services

WIDTH, HEIGHT = 1080, 1350
"""Originals: what a phone's share sheet sends at the app's largest width (4:5 portrait)."""
CANVAS = 2400
CAROUSEL_SIZES = [1, 1, 1, 1, 2, 3]
"""Pictures per post, as the demo seed draws them (one picture, or a carousel of 2-3)."""
OTHER_USERS = 300
FOLLOWERS = 180
FOLLOWING = 150
TAGS = 60
SECRET = secrets.token_urlsafe(32)


@dataclasses.dataclass(frozen=True)
class Seeded:
    user_id: int
    export_id: int
    posts: int
    originals: int
    original_bytes: int


# --- the account --------------------------------------------------------------------------------


def _jpeg_maker() -> Any:
    """A function index -> distinct JPEG bytes (a 1080x1350 crop of one synthetic photo)."""
    import pyvips

    from bench.media import synthetic_photo_rgb

    canvas = pyvips.Image.new_from_memory(
        synthetic_photo_rgb(CANVAS, CANVAS), CANVAS, CANVAS, 3, "uchar"
    )

    def make(index: int) -> bytes:
        rng = random.Random(index)
        left, top = rng.randrange(CANVAS - WIDTH), rng.randrange(CANVAS - HEIGHT)
        crop = canvas.crop(left, top, WIDTH, HEIGHT)
        data: bytes = crop.jpegsave_buffer(Q=85)
        return data

    return make


async def seed(db: asyncpg.Pool, blobs: Any, posts: int) -> Seeded:
    """The account, its social surroundings and its sealed originals (see the module's doc).

    Side effects: rows in users, follows, posts, media, post_media, hashtags, post_hashtags,
    likes, comments, notifications, notification_actors; one blob per original."""
    rng = random.Random(20250601)
    now = datetime.now(UTC)
    async with db.acquire() as conn:
        await conn.copy_records_to_table(
            "users",
            records=[
                ("exporter", "exporter@bench.example", "-", "Ex Porter", "Photos."),
                *((f"friend{i}", f"friend{i}@bench.example", "-", None, None)
                  for i in range(OTHER_USERS)),
            ],
            columns=["username", "email", "password_hash", "full_name", "bio"],
        )  # fmt: skip
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM users ORDER BY id")]
        owner, others = ids[0], ids[1:]
        followers = rng.sample(others, FOLLOWERS)
        following = rng.sample(others, FOLLOWING)

        def ago(days: float) -> datetime:
            return now - timedelta(seconds=rng.random() * days * 86400)

        await conn.copy_records_to_table(
            "follows",
            records=[(f, owner, ago(365)) for f in followers]
            + [(owner, f, ago(365)) for f in following],
            columns=["follower_id", "followee_id", "created_at"],
        )

        # Posts: the owner's over a year, one of each other user's (for the owner's likes and
        # comments). Ids increase with time.
        owner_times = sorted(ago(365) for _ in range(posts))
        await conn.copy_records_to_table(
            "posts",
            records=[(owner, "PUBLISHED", at, at) for at in owner_times]
            + [(other, "PUBLISHED", at, at) for other in others for at in [ago(60)]],
            columns=["author_id", "status", "created_at", "published_at"],
        )
        post_rows = await conn.fetch("SELECT id, author_id, published_at FROM posts ORDER BY id")
        own_posts = [(r["id"], r["published_at"]) for r in post_rows if r["author_id"] == owner]
        their_posts = [r["id"] for r in post_rows if r["author_id"] != owner]

        # Captions and hashtags.
        await conn.copy_records_to_table(
            "hashtags", records=[(f"tag{n}",) for n in range(TAGS)], columns=["name"]
        )
        tag_ids = [r["id"] for r in await conn.fetch("SELECT id FROM hashtags ORDER BY id")]
        tagging: list[tuple[int, int, datetime]] = []
        captions: list[tuple[int, str]] = []
        for post_id, published in own_posts:
            tags = rng.sample(range(TAGS), rng.randint(1, 3))
            tagging += [(post_id, tag_ids[t], published) for t in tags]
            words = " ".join(f"#tag{t}" for t in tags)
            captions.append((post_id, f"A day out by the sea with friends {words}"))
        await conn.copy_records_to_table(
            "post_hashtags", records=tagging, columns=["post_id", "hashtag_id", "published_at"]
        )
        await conn.executemany("UPDATE posts SET caption = $2 WHERE id = $1", captions)
        await conn.execute(
            "UPDATE hashtags h SET post_count = c.n FROM (SELECT hashtag_id, count(*) AS n"
            " FROM post_hashtags GROUP BY hashtag_id) c WHERE c.hashtag_id = h.id"
        )

        # Likes and comments on the owner's posts, by others; the owner's on others' posts.
        likes: list[tuple[int, int, datetime]] = []
        comments: list[tuple[int, int, str, datetime]] = []
        for post_id, published in own_posts:
            for liker in rng.sample(others, rng.randint(0, 12)):
                likes.append((post_id, liker, published + timedelta(minutes=rng.randint(1, 900))))
            for _ in range(rng.randint(0, 3)):
                at = published + timedelta(minutes=rng.randint(1, 900))
                comments.append((post_id, rng.choice(others), "Lovely light! 😍", at))
            if rng.random() < 0.2:
                at = published + timedelta(minutes=rng.randint(1, 900))
                comments.append((post_id, owner, "Thanks, it was a great day.", at))
        for post_id in rng.sample(their_posts, 200):
            likes.append((post_id, owner, ago(60)))
        for post_id in rng.sample(their_posts, 150):
            comments.append((post_id, owner, "Great shot, where is this?", ago(60)))
        await conn.copy_records_to_table(
            "likes", records=likes, columns=["post_id", "user_id", "created_at"]
        )
        await conn.copy_records_to_table(
            "comments", records=comments, columns=["post_id", "author_id", "text", "created_at"]
        )
        await conn.execute(
            """
            UPDATE posts p
               SET like_count = (SELECT count(*) FROM likes l WHERE l.post_id = p.id),
                   comment_count = (SELECT count(*) FROM comments c WHERE c.post_id = p.id)
            """
        )
        await conn.execute(
            """
            UPDATE users u
               SET follower_count = (SELECT count(*) FROM follows WHERE followee_id = u.id),
                   following_count = (SELECT count(*) FROM follows WHERE follower_id = u.id),
                   post_count = (SELECT count(*) FROM posts WHERE author_id = u.id)
            """
        )
        await _notifications(conn, owner, rng)

        # Media: rows first (ids), then each original made, sealed in the blob store, sized.
        sizes = [rng.choice(CAROUSEL_SIZES) for _ in own_posts]
        await conn.copy_records_to_table(
            "media",
            records=[
                (owner, "IMAGE", "READY", "image/jpeg", "image/jpeg", 1,
                 f"IMG_{4000 + len(own_posts) * position + index}.JPG", WIDTH, HEIGHT,
                 "LKO2?U%2Tw=w", published)
                for index, ((_, published), size) in enumerate(zip(own_posts, sizes, strict=True))
                for position in range(size)
            ],
            columns=["owner_id", "kind", "status", "declared_content_type", "content_type",
                     "byte_size", "original_filename", "width", "height", "blurhash",
                     "created_at"],
        )  # fmt: skip
        media_ids = [r["id"] for r in await conn.fetch("SELECT id FROM media ORDER BY id")]
        links: list[tuple[int, int, int, str]] = []
        cursor = 0
        for (post_id, _), size in zip(own_posts, sizes, strict=True):
            for position in range(size):
                links.append((post_id, position, media_ids[cursor], f"Photo {position + 1}"))
                cursor += 1
        await conn.copy_records_to_table(
            "post_media", records=links, columns=["post_id", "position", "media_id", "alt_text"]
        )
    make = await asyncio.to_thread(_jpeg_maker)
    sealed: list[tuple[int, str, int]] = []
    for media_id in media_ids:
        data = await asyncio.to_thread(make, media_id)
        key = f"uploads/{media_id}/sealed-{secrets.token_hex(8)}"
        await blobs.put(key, data, content_type="image/jpeg", cache_control="private, no-store")
        sealed.append((media_id, key, len(data)))
    async with db.acquire() as conn:
        await conn.executemany(
            "UPDATE media SET original_key = $2, byte_size = $3 WHERE id = $1", sealed
        )
        for table in (
            "users",
            "follows",
            "posts",
            "media",
            "post_media",
            "likes",
            "comments",
            "notifications",
            "notification_actors",
            "hashtags",
            "post_hashtags",
        ):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        await conn.execute("CHECKPOINT")
    return Seeded(
        user_id=owner,
        export_id=0,
        posts=len(own_posts),
        originals=len(sealed),
        original_bytes=sum(size for _, _, size in sealed),
    )


async def _notifications(
    conn: PoolConnectionProxy[asyncpg.Record], owner: int, rng: random.Random
) -> None:
    """The owner's notification groups as the app leaves them (one group per post and kind,
    closed; FOLLOW groups of ten followers), their actors, the older ones read."""
    groups: list[tuple[str, int | None, list[tuple[int, int, datetime]]]] = []
    for post_id, kind in (
        *((r["post_id"], "LIKE") for r in await conn.fetch(
            "SELECT DISTINCT l.post_id FROM likes l JOIN posts p ON p.id = l.post_id"
            " WHERE p.author_id = $1 AND l.user_id <> $1 ORDER BY 1", owner)),
        *((r["post_id"], "COMMENT") for r in await conn.fetch(
            "SELECT DISTINCT c.post_id FROM comments c JOIN posts p ON p.id = c.post_id"
            " WHERE p.author_id = $1 AND c.author_id <> $1 ORDER BY 1", owner)),
    ):  # fmt: skip
        if kind == "LIKE":
            rows = await conn.fetch(
                "SELECT user_id AS actor, 0 AS source, created_at FROM likes"
                " WHERE post_id = $1 AND user_id <> $2 ORDER BY created_at",
                post_id,
                owner,
            )
        else:
            rows = await conn.fetch(
                "SELECT author_id AS actor, id AS source, created_at FROM comments"
                " WHERE post_id = $1 AND author_id <> $2 ORDER BY created_at",
                post_id,
                owner,
            )
        groups.append((kind, post_id, [(r["actor"], r["source"], r["created_at"]) for r in rows]))
    follow_rows = await conn.fetch(
        "SELECT follower_id, created_at FROM follows WHERE followee_id = $1 ORDER BY created_at",
        owner,
    )
    for start in range(0, len(follow_rows), 10):
        chunk = follow_rows[start : start + 10]
        groups.append(("FOLLOW", None, [(r[0], 0, r[1]) for r in chunk]))
    groups.sort(key=lambda group: group[2][-1][2])
    recent = datetime.now(UTC) - timedelta(days=3)
    for kind, post_id, actors in groups:
        latest_actor, _, latest_at = actors[-1]
        notification_id = await conn.fetchval(
            "INSERT INTO notifications (recipient_id, kind, post_id, actor_id, actor_count,"
            " window_start, created_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " RETURNING id",
            owner,
            kind,
            post_id,
            latest_actor,
            len({actor for actor, _, _ in actors}),
            actors[0][2],
            latest_at,
            None if latest_at > recent else latest_at + timedelta(hours=rng.randint(1, 48)),
        )
        await conn.copy_records_to_table(
            "notification_actors",
            records=[(notification_id, actor, source, at) for actor, source, at in actors],
            columns=["notification_id", "actor_id", "source_id", "created_at"],
        )


# --- the child: the job, and the baseline -------------------------------------------------------


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def _reset_peak_rss() -> None:
    """VmHWM := VmRSS (Linux 4.0+), so that the next VmHWM is this moment's onwards."""
    Path("/proc/self/clear_refs").write_text("5")


async def _raw_copy(blobs: Any, keys: list[str], folder: Path) -> dict[str, float]:
    """The baseline: every original out of the blob store into one temporary file (download to
    a file, append it), then that file stored in the blob store. Returns timings."""
    from storage.blobs import BlobStore

    store: BlobStore = blobs
    output = folder / "originals.bin"
    local = folder / "original"
    wall, cpu = time.perf_counter(), time.process_time()
    with output.open("wb") as target:
        for key in keys:
            await store.download(key, local)

            def append() -> None:
                with local.open("rb") as source:
                    shutil.copyfileobj(source, target, 1 << 20)
                local.unlink()

            await asyncio.to_thread(append)
    copied = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    wall, cpu = time.perf_counter(), time.process_time()
    key = f"exports/0/{secrets.token_hex(16)}/baseline.bin"
    await store.put_file(key, output, content_type="application/octet-stream",
                         cache_control="private, no-store")  # fmt: skip
    stored = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    await store.delete([key])
    size = output.stat().st_size
    output.unlink()
    return {"copy_wall": copied["wall"], "copy_cpu": copied["cpu"], "store_wall": stored["wall"],
            "store_cpu": stored["cpu"], "bytes": size}  # fmt: skip


async def child(user_id: int, export_id: int) -> dict[str, Any]:
    """Run in the `--child` process: the worker's context, the baseline, the job, the
    baseline again. Returns the measurements."""
    from settings import Settings
    from storage.pg import data_exports as export_store
    from workers import worker_options
    from workers.leaving_jobs import export_data

    settings = Settings()
    options = worker_options(settings)
    ctx: dict[str, Any] = {"job_try": 1, "job_id": f"bench-export-{export_id}"}
    await options["on_startup"](ctx)
    try:
        resources = ctx["resources"]
        keys: list[str] = []
        after = 0
        while page := await export_store.fetch_original_media_page(
            resources.db, user_id, after=after, limit=500
        ):
            keys += [key for _, key, _ in page]
            after = page[-1][0]
        folder = Path(tempfile.mkdtemp(prefix="baseline-"))
        try:
            before = await _raw_copy(resources.blobs, keys, folder)
            _reset_peak_rss()
            rss_before = _status_kb("VmRSS")
            wall, cpu = time.perf_counter(), time.process_time()
            status = await export_data(ctx, user_id, export_id)
            job = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                   "status": status, "rss_before_kb": rss_before,
                   "hwm_kb": _status_kb("VmHWM")}  # fmt: skip
            after_run = await _raw_copy(resources.blobs, keys, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        await options["on_shutdown"](ctx)
    return {"job": job, "baseline_before": before, "baseline_after": after_run}


def run_child(env: dict[str, str], user_id: int, export_id: int) -> tuple[dict[str, Any], Any]:
    """The child process, waited for with os.wait4: (its report, its rusage)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.data_export", "--child", str(user_id), str(export_id)],
        cwd=ROOT,
        env=os.environ | env,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the export child failed ({process.returncode})")
    report: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
    return report, usage


# --- the parent ---------------------------------------------------------------------------------


def _settings(database_url: str, redis_url: str, data_dir: Path) -> Any:
    from settings import Settings

    return Settings(
        database_url=database_url, redis_url=redis_url, secret_key=SECRET, data_dir=data_dir
    )


async def prepare(database_url: str, redis_url: str, data_dir: Path, posts: int) -> Seeded:
    """Seed the account and queue its export as requestDataExport does (the API's resources).

    Side effects: see `seed`; a data_exports row and one queued export_data job."""
    from resources import open_resources
    from services import data_export
    from services.auth import Viewer

    async with open_resources(_settings(database_url, redis_url, data_dir)) as resources:
        seeded = await seed(resources.db, resources.blobs, posts)
        viewer = Viewer(user_id=seeded.user_id, session_id=uuid.uuid4())
        record = await data_export.request_data_export(resources.exports, viewer)
    return dataclasses.replace(seeded, export_id=record.id)


async def check_zip(
    database_url: str, redis_url: str, data_dir: Path, seeded: Seeded, folder: Path
) -> dict[str, Any]:
    """The finished export: its row, and the zip's entries checked against the account."""
    from storage.blobs import open_blob_store

    settings = _settings(database_url, redis_url, data_dir)
    db = await asyncpg.connect(database_url)
    try:
        row = await db.fetchrow(
            "SELECT status, blob_key, byte_size FROM data_exports WHERE id = $1", seeded.export_id
        )
        sizes = {
            f"media/{r['id']}-{r['original_filename']}": r["byte_size"]
            for r in await db.fetch(
                "SELECT id, original_filename, byte_size FROM media WHERE owner_id = $1",
                seeded.user_id,
            )
        }
    finally:
        await db.close()
    if row is None or row["status"] != "READY":
        raise SystemExit(f"the export did not finish: {row}")
    local = folder / "export.zip"
    async with open_blob_store(settings, signing_key=SECRET.encode()) as blobs:
        await blobs.download(row["blob_key"], local)
    with zipfile.ZipFile(local) as archive:
        entries = archive.infolist()
        media = {e.filename: e.file_size for e in entries if e.filename.startswith("media/")}
        if media != sizes:
            raise SystemExit("the zip's originals differ from the account's")
        posts = json.loads(archive.read("posts.json"))
        if len(posts) != seeded.posts:
            raise SystemExit(f"posts.json has {len(posts)} posts, not {seeded.posts}")
        counts = {
            name: len(json.loads(archive.read(name)))
            for name in ("comments.json", "likes.json", "following.json", "followers.json",
                         "notifications.json")
        }  # fmt: skip
        json_bytes = sum(e.file_size for e in entries if e.filename.endswith(".json"))
        json_stored = sum(e.compress_size for e in entries if e.filename.endswith(".json"))
    size = local.stat().st_size
    assert size == row["byte_size"]
    local.unlink()
    return {"size": size, "entries": len(entries), "media": len(media), "counts": counts,
            "json_bytes": json_bytes, "json_stored": json_stored}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        report = asyncio.run(child(*args.child))
        print(json.dumps(report))
        return
    with services() as (database_url, redis_url, scratch):
        data_dir = scratch / "data"
        temp = scratch / "tmp"
        temp.mkdir()
        started = time.perf_counter()
        seeded = asyncio.run(prepare(database_url, redis_url, data_dir, args.posts))
        seeding = time.perf_counter() - started
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": SECRET,
            "SHUTTER_DATA_DIR": str(data_dir),
            "TMPDIR": str(temp),
            "LOG_LEVEL": "WARNING",
        }
        report, usage = run_child(env, seeded.user_id, seeded.export_id)
        zipped = asyncio.run(check_zip(database_url, redis_url, data_dir, seeded, scratch))
        leftovers = list(temp.iterdir())
    _print(seeded, seeding, report, usage, zipped, leftovers)


def _print(
    seeded: Seeded,
    seeding: float,
    report: dict[str, Any],
    usage: Any,
    zipped: dict[str, Any],
    leftovers: list[Path],
) -> None:
    mb = 1 / (1 << 20)
    job = report["job"]
    print(
        f"data export of one account: {seeded.posts} posts, {seeded.originals} JPEG originals "
        f"({seeded.original_bytes * mb:.1f} MB, {WIDTH}x{HEIGHT}), local blob store, "
        f"warm page cache (seeded in {seeding:.1f} s)"
    )
    print(
        f"zip: {zipped['size'] * mb:.1f} MB, {zipped['entries']} entries "
        f"({zipped['media']} originals stored; JSON {zipped['json_bytes'] * mb:.2f} MB "
        f"deflated to {zipped['json_stored'] * mb:.2f} MB); rows: "
        + ", ".join(f"{name.removesuffix('.json')} {n}" for name, n in zipped["counts"].items())
    )
    print(f"\n{'':<44} {'wall':>8} {'CPU':>8}")
    label = f"export_data job ({job['status']})"
    print(f"{label:<44} {job['wall']:>7.2f}s {job['cpu']:>7.2f}s")
    for name, run in (("before", report["baseline_before"]), ("after", report["baseline_after"])):
        print(
            f"{'baseline ' + name + ': originals -> one temp file':<44} "
            f"{run['copy_wall']:>7.2f}s {run['copy_cpu']:>7.2f}s"
        )
        print(
            f"{'  + that file stored (put_file)':<44} "
            f"{run['store_wall']:>7.2f}s {run['store_cpu']:>7.2f}s"
        )
    floor = min(
        run["copy_wall"] + run["store_wall"]
        for run in (report["baseline_before"], report["baseline_after"])
    )
    print(
        f"export / (copy + store) baseline, wall: {job['wall'] / floor:.2f}x "
        f"(best baseline run {floor:.2f} s)"
    )
    print(
        f"\npeak memory (resident set of the child running the job): "
        f"{job['rss_before_kb'] / 1024:.1f} MB before the job (worker imports and resources), "
        f"high-water during the job {job['hwm_kb'] / 1024:.1f} MB "
        f"(+{(job['hwm_kb'] - job['rss_before_kb']) / 1024:.1f} MB); "
        f"the child's whole-life ru_maxrss {usage.ru_maxrss / 1024:.1f} MB"
    )
    print(f"temporary files left by the child: {len(leftovers)}")


if __name__ == "__main__":
    main()
