"""``python -m bench.video [--seconds N]``: see bench.video."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image, ImageChops

WIDTH, HEIGHT, RATE = 1920, 1080, 30
RUNGS = ((1080, 5000), (720, 2800), (480, 1400), (360, 800))  # lines, VBV kbit/s
PRESET, CRF, SEGMENT = "veryfast", 23, 4
FFMPEG = shutil.which("ffmpeg")


def phone_clip(path: Path, seconds: int) -> str:
    """A phone-style clip: HEVC Main 10 (libx265) if PyAV has it, else H.264 High 10; moving
    gradient content, portrait display matrix, AAC stereo. Returns the codec used."""
    codec = "libx265" if "libx265" in av.codecs_available else "libx264"
    frames = seconds * RATE
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream(codec, rate=RATE)
        assert isinstance(video, VideoStream)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p10le"
        video.codec_context.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
        video.codec_context.color_primaries, video.codec_context.colorspace = 9, 9
        video.codec_context.color_trc = 18
        video.set_display_rotation(-90)
        audio = container.add_stream("aac", rate=48000)
        audio.layout = "stereo"
        base = Image.merge(
            "RGB",
            (
                Image.linear_gradient("L").resize((WIDTH, HEIGHT)),
                Image.radial_gradient("L").resize((WIDTH, HEIGHT)),
                Image.effect_noise((WIDTH, HEIGHT), 40),
            ),
        )
        for index in range(frames):
            moved = ImageChops.offset(base, index * 8, index * 3)
            rgba = moved.convert("RGBA").tobytes()
            rgb = VideoFrame.from_bytes(rgba, WIDTH, HEIGHT, format="rgba")
            frame = rgb.reformat(format="yuv420p10le")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for block in range(seconds * 48000 // 1024):
            tone = av.AudioFrame(format="fltp", layout="stereo", samples=1024)
            for plane in tone.planes:
                plane.update(bytes(plane.buffer_size))
            tone.sample_rate, tone.pts = 48000, block * 1024
            container.mux(audio.encode(tone))
        container.mux(audio.encode(None))
    return codec


def measured(command: list[str]) -> tuple[float, float, int]:
    """Run `command`; (wall seconds, CPU seconds, peak RSS in MiB) of that process alone:
    wait4's rusage, not RUSAGE_CHILDREN (the maximum over every child this bench waited for).
    CPU seconds (user + system, all threads) do not depend on what else the machine runs."""
    started = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def cli_commands(ffmpeg: str, source: Path, out: Path) -> list[list[str]]:
    """The same ladder with the ffmpeg command line: one command for the four MP4s (one
    decode, ``split``, a scale + 8-bit BT.709 conversion and an x264 encoder per rung), then
    one ``-c copy`` remux per rung into a fragmented MP4 for HLS, as Shutter does."""
    splits = "".join(f"[v{i}]" for i in range(len(RUNGS)))
    graph = [f"[0:v]fps={RATE},split={len(RUNGS)}{splits}"]
    # Portrait after autorotation: 1080x1920 -> short side is the width.
    for i, (lines, _) in enumerate(RUNGS):
        graph.append(
            f"[v{i}]scale={lines}:-2:flags=bicubic:in_color_matrix=bt2020"
            f":out_color_matrix=bt709:out_range=tv,format=yuv420p[o{i}]"
        )
    ladder = [ffmpeg, "-v", "error", "-y", "-i", str(source), "-filter_complex", ";".join(graph)]
    keyint = RATE * SEGMENT
    for i, (lines, kbps) in enumerate(RUNGS):
        x264 = f"keyint={keyint}:min-keyint={keyint}:scenecut=0"
        x264 += f":vbv-maxrate={kbps}:vbv-bufsize={kbps * 2}"
        ladder += [
            "-map", f"[o{i}]", "-map", "0:a?", "-c:v", "libx264", "-preset", PRESET,
            "-profile:v", "high", "-crf", str(CRF), "-x264-params", x264,
            "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-map_metadata", "-1",
            "-fflags", "+bitexact", str(out / f"{lines}p.mp4"),
        ]  # fmt: skip
    remuxes = [
        [ffmpeg, "-v", "error", "-y", "-i", str(out / f"{lines}p.mp4"), "-c", "copy",
         "-movflags", "+frag_keyframe+empty_moov+default_base_moof",
         str(out / f"{lines}p.hls.mp4")]
        for lines, _ in RUNGS
    ]  # fmt: skip
    return [ladder, *remuxes]


def shutter_command(source: Path, out: Path, seconds: int) -> list[str]:
    """media.video_renditions.transcode_ladder in a child Python, with the bench's preset/CRF."""
    code = (
        "from pathlib import Path; from media.video_renditions import transcode_ladder, "
        "TranscodeOptions; "
        f"transcode_ladder({str(source)!r}, Path({str(out)!r}), "
        f"duration_seconds={float(seconds)}, "
        f"options=TranscodeOptions(preset={PRESET!r}, crf={CRF}))"
    )
    return [sys.executable, "-c", code]


def run_all(commands: list[list[str]]) -> tuple[float, float, int]:
    """Run `commands` one after the other; (total wall and CPU seconds, largest peak RSS)."""
    figures = [measured(command) for command in commands]
    return (
        sum(wall for wall, _, _ in figures),
        sum(cpu for _, cpu, _ in figures),
        max(rss for _, _, rss in figures),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.video")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating Shutter/CLI runs (median reported)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-video-") as folder:
        root = Path(folder)
        source = root / "phone.mp4"
        started = time.perf_counter()
        codec = phone_clip(source, args.seconds)
        size_kib = source.stat().st_size // 1024
        print(f"clip: {args.seconds} s {WIDTH}x{HEIGHT} {codec} 10-bit HLG, portrait, "
              f"{size_kib} KiB (generated in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        if FFMPEG is None:
            print("ffmpeg CLI: skipped (no `ffmpeg` on PATH; `apt-get install -y ffmpeg` for "
                  "the comparison)")  # fmt: skip
        else:
            version = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True)
            print(f"ffmpeg CLI: {version.stdout.split()[2]}")
        ratios = []
        for round_ in range(args.rounds):
            out = root / f"shutter-{round_}"
            ours, our_cpu, our_rss = measured(shutter_command(source, out, args.seconds))
            print(f"round {round_ + 1}: shutter    {ours:6.1f} s = "
                  f"{ours / args.seconds:.2f}x real time, CPU {our_cpu:6.1f} s, "
                  f"peak RSS {our_rss} MiB")  # fmt: skip
            shutil.rmtree(out)
            if FFMPEG is None:
                continue
            out = root / f"cli-{round_}"
            out.mkdir()
            cli, cli_cpu, cli_rss = run_all(cli_commands(FFMPEG, source, out))
            print(f"round {round_ + 1}: ffmpeg CLI {cli:6.1f} s = "
                  f"{cli / args.seconds:.2f}x real time, CPU {cli_cpu:6.1f} s, "
                  f"peak RSS {cli_rss} MiB")  # fmt: skip
            shutil.rmtree(out)
            ratios.append(ours / cli)
        if ratios:
            median = statistics.median(ratios)
            print(f"shutter / CLI per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
                  f"median {median:.2f}x (target <= 1.2x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
