"""media.exif: reading camera, capture time and position from raw EXIF blobs.

The pipeline-level metadata tests (EXIF found in JPEG/HEIC files) stay in test_images.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from media.exif import PhotoMetadata, read_photo_metadata
from tests import media_fixtures as fixtures


def test_unusable_fields_are_dropped_one_by_one() -> None:
    blob = fixtures.exif_bytes(
        make="  Canon\x00  ", model="", taken_at=None, gps=(0.0, 0.0), orientation=None
    )
    assert read_photo_metadata(blob) == PhotoMetadata("Canon", None, None, None, None)


def test_placeholder_dates_are_ignored() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"
    exif.get_ifd(0x8825).update({1: "N", 2: (91.0, 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)})

    # Latitude 91 is impossible, so the whole position is dropped.
    assert read_photo_metadata(exif.tobytes()) == PhotoMetadata(None, None, None, None, None)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@settings(max_examples=300, deadline=None)
@given(noise=st.binary(max_size=400), prefix=st.sampled_from([b"", b"Exif\x00\x00MM\x00*"]))
def test_metadata_parser_never_raises(noise: bytes, prefix: bytes) -> None:
    metadata = read_photo_metadata(prefix + noise)

    assert isinstance(metadata, PhotoMetadata)
