"""Transcode a video once into an H.264/AAC rendition ladder and an HLS ladder over it.

:func:`transcode_ladder` decodes the upload ONCE and feeds every rendition's encoder from one
FFmpeg filter graph::

    buffer -> [transpose | hflip,vflip] -> fps=R -> split=N -> scale=WxH,format=yuv420p -> sink
                                                          \\-> scale=...             -> sink ...

- **Rotation applied**: the display matrix (``frame.rotation``) is turned into pixels, and the
  renditions carry no display matrix, so every player shows them upright.
- **Variable frame rate**: the ``fps`` filter places each frame on a constant grid (the
  source's average rate, halved until at most :attr:`TranscodeOptions.max_frame_rate`),
  duplicating or dropping by timestamp; the encoders see pts 0, 1, 2, ... in 1/R.
- **10-bit / HDR**: every rendition is 8-bit yuv420p, BT.709 matrix, limited range. A BT.2020
  source is converted with the BT.2020 matrix by swscale (``in_color_matrix=bt2020``): colours
  land in the right place, but the transfer function is not tone-mapped (PyAV's FFmpeg has the
  ``tonemap`` filter but not ``zscale``, which it needs to linearise PQ/HLG): HLG looks close
  to right on SDR screens, PQ looks flat. docs/video.md says more.
- **Audio**: decoded once, encoded once to AAC-LC (at most stereo), and the same packets are
  muxed into every rendition; a silent video (no audio stream) stays without one.
- **Segments aligned**: every encoder uses the same GOP (``keyint = min-keyint = segment
  length``, no scene-cut keyframes), so HLS segments start at the same instant in every
  rendition and players can switch between them at any boundary.
- **Nothing identifying is written**: fresh streams (no handler names, creation times or
  rotation copied), ``fflags=+bitexact`` (no "encoder" tag), a bit-exact AAC encoder (else it
  writes "Lavc..." into the first frame), and the SEI NAL units x264 writes its version and
  settings into are dropped by the ``filter_units`` bitstream filter.

The HLS ladder is byte-range HLS over one fragmented MP4 per rendition (remuxed packet for
packet from the finished MP4: an init part, then a ``moof`` + ``mdat`` fragment per keyframe,
i.e. per segment), with media playlists (``EXT-X-MAP`` + ``EXT-X-BYTERANGE``, version 7) and a
master playlist written here. fMP4 HLS plays natively in Safari (iOS 10+, macOS 10.12+) and in
hls.js (Chrome, Firefox, Edge) with the same files; FFmpeg's own ``hls`` muxer is not used
because it cannot be stopped from writing its version into each init segment.

Pure media: reads the source path, writes files under the given folder, nothing else.
"""

from __future__ import annotations

import itertools
import math
import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Final

import av
import av.error
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.bitstream import BitStreamFilterContext
from av.container import InputContainer, OutputContainer
from av.filter import Graph
from av.filter.context import FilterContext
from av.packet import Packet
from av.video.frame import PictureType, VideoFrame
from av.video.stream import VideoStream

from media.images import RejectedMediaError

__all__ = [
    "LADDER",
    "Ladder",
    "Rendition",
    "RenditionSpec",
    "TranscodeCancelledError",
    "TranscodeOptions",
    "TranscodeTimeoutError",
    "transcode_ladder",
]

_DEMUXER: Final = "mov"
_MP4_OPTIONS: Final = {"movflags": "+faststart", "fflags": "+bitexact"}
_AUDIO_RATES: Final = (48_000, 44_100, 32_000, 24_000, 22_050, 16_000)
# Drops SEI NAL units (type 6): x264 writes its version and full settings string into one.
_DROP_SEI: Final = "filter_units=remove_types=6"
_MASTER_PLAYLIST: Final = "master.m3u8"
# The HLS copy: an empty moov (init part), then one fragment per keyframe; no encoder tag.
_FRAGMENTED_OPTIONS: Final = {
    "movflags": "+frag_keyframe+empty_moov+default_base_moof",
    "fflags": "+bitexact",
}


@dataclass(frozen=True, slots=True)
class RenditionSpec:
    """One rung: `lines` is the short side of the picture (1080 for 1920x1080 and for a
    portrait 1080x1920); `max_bitrate` caps the video (x264's VBV), in bits per second."""

    lines: int
    max_bitrate: int


LADDER: Final = (
    RenditionSpec(1080, 5_000_000),
    RenditionSpec(720, 2_800_000),
    RenditionSpec(480, 1_400_000),
    RenditionSpec(360, 800_000),
)


class TranscodeTimeoutError(RejectedMediaError):
    """The transcode ran past its deadline (partial files are left for the caller's folder)."""


class TranscodeCancelledError(Exception):
    """The caller asked the transcode to stop (the worker is shutting down)."""


@dataclass(frozen=True, slots=True)
class TranscodeOptions:
    preset: str = "veryfast"
    crf: int = 23
    max_frame_rate: int = 60
    segment_seconds: int = 4
    audio_bitrate: int = 128_000
    ladder: tuple[RenditionSpec, ...] = LADDER
    deadline: float | None = None
    """time.monotonic() after which the transcode stops with TranscodeTimeoutError."""
    on_progress: Callable[[float], None] | None = field(default=None, compare=False)
    """Called from the transcoding thread with the fraction done (0..1), once per frame."""
    should_stop: Callable[[], bool] | None = field(default=None, compare=False)
    """Polled once per frame; True stops the transcode with TranscodeCancelledError."""


@dataclass(frozen=True, slots=True)
class Rendition:
    """A finished MP4: its file, picture size, measured average and capped bitrates (bits/s,
    video and audio) and its RFC 6381 codecs string."""

    name: str
    path: Path
    width: int
    height: int
    bitrate: int
    peak_bitrate: int
    codecs: str
    frame_rate: Fraction


@dataclass(frozen=True, slots=True)
class Ladder:
    renditions: tuple[Rendition, ...]
    """Largest first."""
    hls_root: Path
    hls_files: tuple[str, ...]
    """Paths relative to `hls_root`, master playlist first."""
    duration_seconds: float
    frame_rate: Fraction
    has_audio: bool


@dataclass(frozen=True, slots=True)
class _Planned:
    name: str
    width: int
    height: int
    spec: RenditionSpec


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _plan(
    display_width: int, display_height: int, ladder: tuple[RenditionSpec, ...]
) -> list[_Planned]:
    """The rungs at or below the source's short side (never upscaled), aspect kept, even
    sizes. A source smaller than every rung gets one rendition at its own (even) size."""
    short = min(display_width, display_height)
    planned: list[_Planned] = []
    for spec in sorted(ladder, key=lambda rung: -rung.lines):
        if spec.lines > short:
            continue
        scale = spec.lines / short
        width, height = _even(display_width * scale), _even(display_height * scale)
        planned.append(_Planned(f"{spec.lines}p", width, height, spec))
    if not planned:
        smallest = min(ladder, key=lambda rung: rung.lines)
        width, height = _even(display_width), _even(display_height)
        planned.append(_Planned(f"{min(width, height)}p", width, height, smallest))
    return planned


def _output_rate(stream: VideoStream, max_rate: int) -> Fraction:
    """The constant output rate. A constant-rate source keeps its rate; a variable-rate one
    (its average differs from its base rate) gets the standard rate nearest its average, so
    playback stays smooth; either is halved until at most `max_rate`. 30 when the header
    gives nothing usable."""
    average, base = stream.average_rate, stream.base_rate
    if average is None or average <= 0:
        return Fraction(30)
    rate = Fraction(average).limit_denominator(1001)
    if base is None or abs(float(base) / float(average) - 1) > 0.01:
        rate = min(_STANDARD_RATES, key=lambda standard: abs(math.log(standard / rate)))
    while rate > max_rate:
        rate /= 2
    return max(rate, _MIN_RATE)  # a header claiming a frame every few hours: no 0 fps


_MIN_RATE: Final = Fraction(1)
_STANDARD_RATES: Final = tuple(
    Fraction(value) for value in ("24000/1001", "24", "25", "30000/1001", "30", "50", "60")
)


def transcode_ladder(
    source: str | os.PathLike[str],
    folder: Path,
    *,
    duration_seconds: float,
    options: TranscodeOptions = TranscodeOptions(),
) -> Ladder:
    """Transcode `source` (an MP4/QuickTime file already probed by media.video.probe_video) to
    the MP4 renditions and the HLS ladder under `folder`.

    `duration_seconds` is the probed duration, for progress. Raises RejectedMediaError when
    the file cannot be decoded to the end (truncated or corrupt), TranscodeTimeoutError past
    the deadline, TranscodeCancelledError when `should_stop` says so. Writes only under
    `folder`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with av.open(os.fspath(source), mode="r", format=_DEMUXER) as container:
            renditions, rate, has_audio = _encode_renditions(
                container, folder, duration_seconds, options
            )
        hls_root = folder / "hls"
        hls_files = _write_hls(renditions, hls_root)
    except av.error.FFmpegError as error:
        raise RejectedMediaError(f"video could not be transcoded: {error}") from error
    return Ladder(tuple(renditions), hls_root, tuple(hls_files), duration_seconds, rate, has_audio)


@dataclass
class _Output:
    planned: _Planned
    path: Path
    container: OutputContainer
    video: VideoStream
    audio: AudioStream | None
    sink: FilterContext
    graph: Graph
    """Referenced for as long as the sink is used: the filters die with their graph."""
    drop_sei: BitStreamFilterContext | None = None
    frames: int = 0


def _encode_renditions(
    container: InputContainer, folder: Path, duration_seconds: float, options: TranscodeOptions
) -> tuple[list[Rendition], Fraction, bool]:
    if not container.streams.video:
        raise RejectedMediaError("file has no video stream")
    video_in = container.streams.video[0]
    video_in.thread_type = "AUTO"
    audio_in = container.streams.audio[0] if container.streams.audio else None
    rate = _output_rate(video_in, options.max_frame_rate)
    keyint = max(1, round(rate * options.segment_seconds))
    max_frames = math.ceil((duration_seconds + _OVERRUN_SECONDS) * rate)

    outputs: list[_Output] = []
    buffer: FilterContext | None = None
    pending_audio: list[AudioFrame] = []
    last_video_seconds = 0.0
    try:
        for frame in _decoded(container, video_in, audio_in):
            if isinstance(frame, AudioFrame):
                if outputs:
                    _encode_audio(outputs, frame)
                else:  # audio ahead of the first picture: kept until the encoders exist
                    pending_audio.append(frame)
                continue
            if buffer is None:
                planned = _plan(*_display_size(frame), options.ladder)
                graph, buffer, sinks = _build_graph(frame, video_in, rate, planned)
                outputs = [
                    _open_output(folder, item, sink, graph, rate, keyint, options, audio_in)
                    for item, sink in zip(planned, sinks, strict=True)
                ]
                for early in pending_audio:
                    _encode_audio(outputs, early)
                pending_audio.clear()
            _check_limits(options)
            if frame.time is not None and frame.time > duration_seconds + _OVERRUN_SECONDS:
                # Checked before the fps filter, which would fill the gap with copies.
                raise RejectedMediaError(
                    f"video timestamps run past the {duration_seconds:.1f} s its header declares"
                )
            buffer.push(frame)
            _drain(outputs, max_frames)
            if frame.time is not None:
                last_video_seconds = frame.time
                if options.on_progress is not None and duration_seconds > 0:
                    options.on_progress(min(1.0, last_video_seconds / duration_seconds))
        if buffer is None:
            raise RejectedMediaError("video has no decodable frame")
        buffer.push(None)
        _drain(outputs, max_frames)
        for output in outputs:
            _encode_and_mux(output, None)
        _encode_audio(outputs, None)
    finally:
        for output in outputs:
            output.container.close()
    if last_video_seconds + _TRUNCATION_SLACK_SECONDS < duration_seconds * 0.95:
        raise RejectedMediaError(
            f"video is truncated: its pictures end at {last_video_seconds:.1f} s of the "
            f"{duration_seconds:.1f} s its header declares"
        )
    renditions = [_finished(output, duration_seconds) for output in outputs]
    return renditions, rate, audio_in is not None


def _check_limits(options: TranscodeOptions) -> None:
    if options.deadline is not None and time.monotonic() > options.deadline:
        raise TranscodeTimeoutError("transcoding took longer than the time limit")
    if options.should_stop is not None and options.should_stop():
        raise TranscodeCancelledError("transcoding was stopped")


def _decoded(
    container: InputContainer, video: VideoStream, audio: AudioStream | None
) -> Iterator[VideoFrame | AudioFrame]:
    """Every decoded frame of the two streams in demux order. A damaged packet is skipped
    (the truncation check after decoding catches files that are mostly damage)."""
    streams: list[VideoStream | AudioStream] = [video, *([audio] if audio is not None else [])]
    for packet in container.demux(streams):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            continue
        for frame in frames:
            if isinstance(frame, VideoFrame | AudioFrame):
                yield frame


def _rotation(frame: VideoFrame) -> int:
    """FFmpeg's counter-clockwise display rotation as 0, 90, 180 or 270."""
    return (round(frame.rotation / 90) * 90) % 360


def _display_size(frame: VideoFrame) -> tuple[int, int]:
    if _rotation(frame) in (90, 270):
        return frame.height, frame.width
    return frame.width, frame.height


def _build_graph(
    first: VideoFrame, stream: VideoStream, rate: Fraction, planned: list[_Planned]
) -> tuple[Graph, FilterContext, list[FilterContext]]:
    """The filter graph (see the module docstring), its buffer source and one sink per rung
    (the caller keeps the graph referenced: its filters die with it)."""
    graph = Graph()
    time_base = first.time_base or stream.time_base or Fraction(1, 90_000)
    sar = stream.sample_aspect_ratio or Fraction(1)
    source = graph.add(
        "buffer",
        f"video_size={first.width}x{first.height}:pix_fmt={first.format.name}"
        f":time_base={time_base.numerator}/{time_base.denominator}"
        f":pixel_aspect={sar.numerator}/{sar.denominator}",
    )
    chain = [source]
    rotation = _rotation(first)
    # The display matrix says how far to turn the stored picture counter-clockwise.
    if rotation == 90:
        chain.append(graph.add("transpose", "dir=cclock"))
    elif rotation == 270:
        chain.append(graph.add("transpose", "dir=clock"))
    elif rotation == 180:
        chain.extend([graph.add("hflip"), graph.add("vflip")])
    chain.append(graph.add("fps", f"fps={rate.numerator}/{rate.denominator}"))
    chain.append(graph.add("split", str(len(planned))))
    for upstream, downstream in itertools.pairwise(chain):
        upstream.link_to(downstream)
    split = chain[-1]
    bt2020 = first.colorspace in (_AVCOL_SPC_BT2020_NCL, _AVCOL_SPC_BT2020_CL)
    in_matrix = "bt2020" if bt2020 else "auto"
    sinks = []
    for index, item in enumerate(planned):
        scale = graph.add(
            "scale",
            f"w={item.width}:h={item.height}:flags=bicubic:in_color_matrix={in_matrix}"
            ":out_color_matrix=bt709:out_range=tv",
        )
        to_8bit = graph.add("format", "pix_fmts=yuv420p")
        sink = graph.add("buffersink")
        split.link_to(scale, index, 0)
        scale.link_to(to_8bit)
        to_8bit.link_to(sink)
        sinks.append(sink)
    graph.configure()
    return graph, source, sinks


_AVCOL_SPC_BT2020_NCL: Final = 9
_AVCOL_SPC_BT2020_CL: Final = 10
_BT709: Final = 1
_LIMITED_RANGE: Final = 1


def _open_output(
    folder: Path,
    planned: _Planned,
    sink: FilterContext,
    graph: Graph,
    rate: Fraction,
    keyint: int,
    options: TranscodeOptions,
    audio_in: AudioStream | None,
) -> _Output:
    path = folder / f"{planned.name}.mp4"
    container = av.open(os.fspath(path), mode="w", format="mp4", options=dict(_MP4_OPTIONS))
    video = container.add_stream("libx264", rate=rate)
    video.width, video.height, video.pix_fmt = planned.width, planned.height, "yuv420p"
    context = video.codec_context
    context.time_base = 1 / rate
    context.color_primaries = context.color_trc = context.colorspace = _BT709
    context.color_range = _LIMITED_RANGE
    # PyAV opens encoders with slice threading, which makes libx264 use sliced threads: each
    # encode() call blocks until that picture is coded, so the four rungs (and the filter
    # graph) ran one after the other. Frame threads (FFmpeg's default, what the ffmpeg CLI
    # gets) let encode() hand the picture over and return: rungs and filters overlap.
    context.thread_type = "AUTO"
    vbv_kbps = planned.spec.max_bitrate // 1000
    context.options = {
        "preset": options.preset,
        "profile": "high",
        "crf": str(options.crf),
        "x264-params": (
            f"keyint={keyint}:min-keyint={keyint}:scenecut=0:"
            f"vbv-maxrate={vbv_kbps}:vbv-bufsize={vbv_kbps * 2}"
        ),
    }
    audio = None
    if audio_in is not None:
        source_rate = audio_in.codec_context.sample_rate or 48_000
        sample_rate = next((r for r in _AUDIO_RATES if r <= source_rate), _AUDIO_RATES[-1])
        audio = container.add_stream("aac", rate=sample_rate)
        audio.layout = "mono" if audio_in.codec_context.channels == 1 else "stereo"
        audio.bit_rate = options.audio_bitrate
        # Without it FFmpeg's AAC encoder writes its name and version into the first frame.
        audio.codec_context.options = {"flags": "+bitexact"}
    return _Output(planned, path, container, video, audio, sink, graph)


def _drain(outputs: list[_Output], max_frames: int) -> None:
    """Encode every picture the graph has ready for each rendition. More pictures than the
    declared duration holds means lying timestamps (the fps filter fills gaps with copies):
    refused before that work grows."""
    for output in outputs:
        while True:
            try:
                frame = output.sink.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                break
            assert isinstance(frame, VideoFrame)
            output.frames += 1
            if output.frames > max_frames:
                raise RejectedMediaError("video timestamps run past the duration it declares")
            frame.pict_type = PictureType.NONE
            _encode_and_mux(output, frame)


def _encode_and_mux(output: _Output, frame: VideoFrame | None) -> None:
    """Encode `frame` (None: flush) for one rendition; mux its packets without SEI units. The
    filter is made once the encoder is open (it copies the encoder's parameters)."""
    packets = output.video.encode(frame)
    if packets and output.drop_sei is None:
        output.drop_sei = BitStreamFilterContext(_DROP_SEI, output.video)
    if output.drop_sei is None:
        return
    for packet in [*packets, None] if frame is None else packets:
        for filtered in output.drop_sei.filter(packet):
            filtered.stream = output.video
            output.container.mux(filtered)


def _encode_audio(outputs: list[_Output], frame: AudioFrame | None) -> None:
    """Encode audio once, with the first rendition's encoder, and mux a copy of each packet
    into every rendition (their AAC streams are configured identically)."""
    first = outputs[0].audio if outputs else None
    if first is None:
        return
    if frame is not None:
        frame.pts = None  # the encoder's resampler counts samples; the audio starts at 0
    for packet in first.encode(frame):
        for output in outputs[1:]:
            assert output.audio is not None
            copy = Packet(bytes(packet))
            copy.pts, copy.dts = packet.pts, packet.dts
            copy.time_base, copy.duration = packet.time_base, packet.duration
            copy.stream = output.audio
            output.container.mux(copy)
        packet.stream = first
        outputs[0].container.mux(packet)


def _finished(output: _Output, duration_seconds: float) -> Rendition:
    size = output.path.stat().st_size
    bitrate = round(size * 8 / duration_seconds) if duration_seconds > 0 else 0
    avc = _avc_codecs(output.video.codec_context.extradata or b"")
    codecs = f"{avc},mp4a.40.2" if output.audio is not None else avc
    audio_bitrate = output.audio.bit_rate or 0 if output.audio is not None else 0
    return Rendition(
        name=output.planned.name,
        path=output.path,
        width=output.planned.width,
        height=output.planned.height,
        bitrate=bitrate,
        peak_bitrate=output.planned.spec.max_bitrate + audio_bitrate,
        codecs=codecs,
        frame_rate=output.video.codec_context.framerate or Fraction(30),
    )


def _avc_codecs(extradata: bytes) -> str:
    """RFC 6381 ``avc1.PPCCLL`` from the encoder's extradata: an avcC record (version 1, then
    profile, constraints, level) or Annex B parameter sets (the bytes after the SPS header)."""
    if len(extradata) >= 4 and extradata[0] == 1:
        return f"avc1.{extradata[1:4].hex()}"
    for start in (b"\x00\x00\x01", b"\x00\x00\x00\x01"):
        at = 0
        while (at := extradata.find(start, at)) >= 0:
            nal = at + len(start)
            if nal + 4 <= len(extradata) and extradata[nal] & 0x1F == _NAL_SPS:
                return f"avc1.{extradata[nal + 1 : nal + 4].hex()}"
            at = nal
    return "avc1.640028"  # High@4.0: what every rung fits within


_NAL_SPS: Final = 7
# Pictures ending this much before 95 % of the declared duration mean a cut or lying file.
_TRUNCATION_SLACK_SECONDS: Final = 0.5
# A picture this long after the declared duration means lying timestamps.
_OVERRUN_SECONDS: Final = 2.0


def _write_hls(renditions: list[Rendition], root: Path) -> list[str]:
    """For each finished MP4, a fragmented copy (packet for packet: one fragment per keyframe,
    hence per segment) and a byte-range media playlist over it; then the master playlist.
    Returns every file written, relative to `root`, master playlist first."""
    root.mkdir(parents=True, exist_ok=True)
    files: list[str] = [_MASTER_PLAYLIST]
    for rendition in renditions:
        fragmented = root / f"{rendition.name}.mp4"
        keyframe_times, end_time = _fragment(rendition.path, fragmented)
        boxes = _top_level_boxes(fragmented)
        playlist = _media_playlist(fragmented.name, boxes, keyframe_times, end_time)
        (root / f"{rendition.name}.m3u8").write_text(playlist, encoding="ascii")
        files.extend([f"{rendition.name}.m3u8", fragmented.name])
    (root / _MASTER_PLAYLIST).write_text(_master_playlist(renditions), encoding="ascii")
    return files


def _fragment(source: Path, destination: Path) -> tuple[list[float], float]:
    """Remux `source` into a fragmented MP4 (an init part: ftyp + moov; then a moof + mdat
    pair per video keyframe). Returns the keyframes' times and the end time, in seconds."""
    keyframe_times: list[float] = []
    end_time = 0.0
    with (
        av.open(os.fspath(source), mode="r", format=_DEMUXER) as mp4,
        av.open(
            os.fspath(destination), mode="w", format="mp4", options=dict(_FRAGMENTED_OPTIONS)
        ) as fragmented,
    ):
        kept = [*mp4.streams.video[:1], *mp4.streams.audio[:1]]
        targets = {stream.index: fragmented.add_stream_from_template(stream) for stream in kept}
        for packet in mp4.demux(kept):
            if packet.dts is None:
                continue
            if packet.stream.type == "video" and packet.pts is not None:
                seconds = float(packet.pts * packet.time_base)
                if packet.is_keyframe:
                    keyframe_times.append(seconds)
                duration = float((packet.duration or 0) * packet.time_base)
                end_time = max(end_time, seconds + duration)
            packet.stream = targets[packet.stream.index]
            fragmented.mux(packet)
    return keyframe_times, end_time


def _top_level_boxes(path: Path) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) of each top-level ISO BMFF box of a file this module wrote."""
    boxes: list[tuple[bytes, int, int]] = []
    with path.open("rb") as file:
        offset = 0
        while header := file.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", file.read(8))[0]
            elif size == 0:
                size = path.stat().st_size - offset
            boxes.append((kind, offset, size))
            offset += size
            file.seek(offset)
    return boxes


def _media_playlist(
    name: str, boxes: list[tuple[bytes, int, int]], keyframe_times: list[float], end: float
) -> str:
    """A VOD byte-range playlist: EXT-X-MAP over the init part, one segment per moof + mdat."""
    fragments = [offset for kind, offset, _ in boxes if kind == b"moof"]
    media_end = max(
        (offset + size for kind, offset, size in boxes if kind in (b"moof", b"mdat")), default=0
    )
    if not fragments or len(fragments) != len(keyframe_times):
        raise RejectedMediaError("video could not be segmented for streaming")
    bounds = [*fragments, media_end]
    times = [*keyframe_times, end]
    durations = [later - earlier for earlier, later in itertools.pairwise(times)]
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(max(durations) - 1e-3))}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{name}",BYTERANGE="{fragments[0]}@0"',
    ]
    for (start, stop), duration in zip(itertools.pairwise(bounds), durations, strict=True):
        lines.extend([f"#EXTINF:{duration:.6f},", f"#EXT-X-BYTERANGE:{stop - start}@{start}", name])
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _master_playlist(renditions: list[Rendition]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rendition in renditions:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={rendition.peak_bitrate},"
            f"AVERAGE-BANDWIDTH={rendition.bitrate},"
            f"RESOLUTION={rendition.width}x{rendition.height},"
            f'CODECS="{rendition.codecs}",FRAME-RATE={float(rendition.frame_rate):.3f}'
        )
        lines.append(f"{rendition.name}.m3u8")
    return "\n".join(lines) + "\n"
