"""bench/video: a 15 s 1080p HEVC phone-style clip through the whole rendition + HLS ladder.

``python -m bench.video [--seconds 15]`` generates the clip with PyAV (libx265, 10-bit
BT.2020/HLG, portrait display matrix, VFR-free 30 fps, AAC stereo), then runs in the same run:

- **shutter**: media.video_renditions.transcode_ladder in a child process (decode once, one
  filter graph, an x264 encoder per rung, AAC once, then the byte-range HLS remux);
- **ffmpeg CLI**: Debian's ``ffmpeg`` doing the same ladder in one command (one decode,
  ``split`` + ``scale`` per rung, libx264 with the same preset/CRF/VBV/GOP, AAC once per
  output as the CLI must), then one ``-c copy`` remux per rung into fragmented MP4 for HLS.
  Skipped with a message when ``ffmpeg`` is not on PATH.

Shutter and the CLI run alternately for ``--rounds`` (2) rounds, each side's wall time printed
as a multiple of real time (clip seconds) with its CPU seconds (user + system, every thread:
independent of what else a shared machine runs) and peak resident memory (wait4's rusage of
that process alone); then the per-round ratios and their median. Side effects: a temporary
directory (removed at exit), child processes; prints to stdout.
"""
