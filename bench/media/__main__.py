"""``python -m bench.media [--input PATH ...] [--runs N] [--no-heic]``: see bench.media.

Side effects: writes generated inputs to a temporary directory (removed at exit) and starts one
child process per (input, pipeline) pair; prints a table to stdout.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.media import (
    PIPELINES,
    JobStats,
    run_worker,
    stats_from_json,
    stats_to_json,
    write_synthetic_heic,
    write_synthetic_jpeg,
)
from media.sniff import AVIF, HEIC, HEIF, SNIFF_BYTES, sniff_content_type


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.media", description=__doc__)
    parser.add_argument(
        "--input",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="photo to benchmark (repeatable); default: a generated 12 MP JPEG",
    )
    parser.add_argument("--runs", type=int, default=15, help="timed runs per pipeline")
    parser.add_argument("--no-heic", action="store_true", help="skip the generated 12 MP HEIC")
    parser.add_argument(
        "--arena-max",
        type=int,
        default=2,
        metavar="N",
        help="MALLOC_ARENA_MAX for the children (the recommended worker setting; 0 = glibc "
        "default, which lets threaded decoders fragment memory into many arenas)",
    )
    parser.add_argument("--worker", nargs=2, metavar=("PIPELINE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        pipeline, path = args.worker
        print(stats_to_json(run_worker(pipeline, Path(path), args.runs)))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-media-") as scratch:
        inputs = _inputs(args.input, not args.no_heic, Path(scratch))
        arenas = f"MALLOC_ARENA_MAX={args.arena_max}" if args.arena_max else "glibc default arenas"
        print(
            f"{args.runs} timed runs per row after 1 warm-up, each row in a fresh process "
            f"({arenas})\n"
        )
        print(
            f"{'pipeline':<16}{'median ms':>11}{'p95 ms':>9}{'peak RSS MB':>13}"
            f"{'RSS before job MB':>19}{'vs pyvips':>11}"
        )
        for label, path, pipelines in inputs:
            size_mb = path.stat().st_size / 1e6
            print(f"\n{label} ({size_mb:.1f} MB)")
            results = [
                _run_child(pipeline, path, args.runs, args.arena_max) for pipeline in pipelines
            ]
            _print_rows(results)
    return 0


def _inputs(
    given: list[Path], with_heic: bool, scratch: Path
) -> list[tuple[str, Path, tuple[str, ...]]]:
    """(label, path, pipelines) for every input; HEIC only through the pyvips pipeline."""
    inputs: list[tuple[str, Path, tuple[str, ...]]] = []
    for path in given:
        with path.open("rb") as file:
            kind = sniff_content_type(file.read(SNIFF_BYTES))
        # Pillow opens no HEIF without registering a plugin: HEIF goes through pyvips only.
        pipelines = ("pyvips",) if kind in (HEIC, HEIF, AVIF) else PIPELINES
        inputs.append((path.name, path, pipelines))
    if not given:
        print("generating a synthetic 4000x3000 JPEG ...", file=sys.stderr)
        jpeg = write_synthetic_jpeg(scratch / "synthetic_12mp.jpg")
        inputs.append(("synthetic 12 MP JPEG 4000x3000, EXIF+GPS", jpeg, PIPELINES))
    if with_heic:
        print("generating a synthetic 4000x3000 HEIC (x265, ~15 s) ...", file=sys.stderr)
        heic = write_synthetic_heic(scratch / "synthetic_12mp.heic")
        inputs.append(("synthetic 12 MP HEIC 4000x3000", heic, ("pyvips",)))
    return inputs


def _run_child(pipeline: str, path: Path, runs: int, arena_max: int) -> JobStats:
    worker = ["--runs", str(runs), "--worker", pipeline, str(path)]
    env = dict(os.environ)
    env.pop("MALLOC_ARENA_MAX", None)
    if arena_max:
        env["MALLOC_ARENA_MAX"] = str(arena_max)
    command = [sys.executable, "-m", "bench.media", *worker]
    completed = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return stats_from_json(completed.stdout.strip().splitlines()[-1])


def _print_rows(results: list[JobStats]) -> None:
    reference = results[0]
    for stats in results:
        ratio = stats.median_ms / reference.median_ms
        print(
            f"{stats.pipeline:<16}{stats.median_ms:>11.1f}{stats.p95_ms:>9.1f}"
            f"{stats.peak_rss_mb:>13.1f}{stats.rss_after_import_mb:>19.1f}{ratio:>10.2f}x"
        )
    for stats in results[1:]:
        if stats.variants != reference.variants:
            print(f"  note: {stats.pipeline} made {stats.variants}, pyvips {reference.variants}")
    print("  variants: " + ", ".join(f"{n} {w}x{h}" for n, w, h in reference.variants))


if __name__ == "__main__":
    raise SystemExit(main())
