"""``python -m bench.video [--seconds N]``: see bench.video."""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
from PIL import Image, ImageChops

WIDTH, HEIGHT, RATE = 1920, 1080, 30
RUNGS = ((1080, 5000), (720, 2800), (480, 1400), (360, 800))  # lines, VBV kbit/s
PRESET, CRF, SEGMENT = "veryfast", 23, 4


def phone_clip(path: Path, seconds: int) -> str:
    """A phone-style clip: HEVC Main 10 (libx265) if PyAV has it, else H.264 High 10; moving
    gradient content, portrait display matrix, AAC stereo. Returns the codec used."""
    codec = "libx265" if "libx265" in av.codecs_available else "libx264"
    frames = seconds * RATE
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream(codec, rate=RATE)
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
            frame = av.VideoFrame.from_image(moved).reformat(format="yuv420p10le")
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


def run_child(code: str) -> tuple[float, int]:
    """Run `code` in a child Python; (wall seconds, peak RSS of the child in MiB)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    wall = time.perf_counter() - started
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


def run_cli(source: Path, out: Path) -> tuple[float, int]:
    """The same ladder with the ffmpeg command line; (wall seconds, peak RSS MiB)."""
    out.mkdir()
    splits = "".join(f"[v{i}]" for i in range(len(RUNGS)))
    graph = [f"[0:v]fps={RATE},split={len(RUNGS)}{splits}"]
    # Portrait after autorotation: 1080x1920 -> short side is the width.
    for i, (lines, _) in enumerate(RUNGS):
        graph.append(f"[v{i}]scale={lines}:-2:flags=bicubic,format=yuv420p[o{i}]")
    command = ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-filter_complex", ";".join(graph)]
    for i, (lines, kbps) in enumerate(RUNGS):
        keyint = RATE * SEGMENT
        command += [
            "-map", f"[o{i}]", "-map", "0:a?", "-c:v", "libx264", "-preset", PRESET,
            "-profile:v", "high", "-crf", str(CRF), "-x264-params",
            f"keyint={keyint}:min-keyint={keyint}:scenecut=0:vbv-maxrate={kbps}:vbv-bufsize={kbps * 2}",
            "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", "-map_metadata", "-1",
            "-fflags", "+bitexact", str(out / f"{lines}p.mp4"),
        ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True)
    for lines, _ in RUNGS:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(out / f"{lines}p.mp4"), "-c", "copy",
             "-movflags", "+frag_keyframe+empty_moov+default_base_moof",
             str(out / f"{lines}p.hls.mp4")],
            check=True,
        )  # fmt: skip
    wall = time.perf_counter() - started
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.video")
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-video-") as folder:
        root = Path(folder)
        source = root / "phone.mp4"
        started = time.perf_counter()
        codec = phone_clip(source, args.seconds)
        print(f"clip: {args.seconds} s {WIDTH}x{HEIGHT} {codec} 10-bit HLG, portrait, "
              f"{source.stat().st_size // 1024} KiB (generated in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        code = (
            "from pathlib import Path; from media.video_renditions import transcode_ladder, "
            "TranscodeOptions; import json; "
            f"l = transcode_ladder({str(source)!r}, Path({str(root / 'shutter')!r}), "
            f"duration_seconds={float(args.seconds)}, "
            f"options=TranscodeOptions(preset={PRESET!r}, crf={CRF})); "
            "print(json.dumps([(r.name, r.width, r.height, r.bitrate) for r in l.renditions]))"
        )
        ours, our_rss = run_child(code)
        print(f"shutter (PyAV, decode once): {ours:6.1f} s = {ours / args.seconds:.2f}x real time, "
              f"peak RSS {our_rss} MiB")  # fmt: skip
        if shutil.which("ffmpeg") is None:
            print("ffmpeg CLI: skipped (no `ffmpeg` on PATH; `apt-get install -y ffmpeg` for "
                  "the comparison)")  # fmt: skip
            return 0
        version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True)
        cli, cli_rss = run_cli(source, root / "cli")
        print(f"ffmpeg CLI ({version.stdout.split()[2]}):        {cli:6.1f} s = "
              f"{cli / args.seconds:.2f}x real time, peak RSS {cli_rss} MiB (max of all children)")  # fmt: skip
        print(f"shutter / CLI: {ours / cli:.2f}x (target <= 1.2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
