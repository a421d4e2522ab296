"""Image and video processing (pyvips, PyAV, pillow-heif): pure work on bytes and local files,
no database, no blob store."""
