"""media.blurhash: the encoder against the reference implementation.

The blurhash of a processed image (size flag, average colour) is tested in test_images.py.
"""

from __future__ import annotations

import pytest

from media.blurhash import encode_blurhash


def _pattern(width: int, height: int) -> bytes:
    return bytes((i * 37 + (i // 3) * 11) % 256 for i in range(width * height * 3))


# Expected values computed with blurhash-python 1.2.2 (the reference C encoder).
@pytest.mark.parametrize(
    ("width", "height", "components", "expected"),
    [
        (32, 24, (4, 3), "L5HVC*}1N4}J^+ayr=nBfQfQfQfQ"),
        (7, 5, (1, 1), "00Hed,"),
        (1, 1, (4, 3), "LM01W1glglglglglglglglglglgl"),
        (
            16,
            16,
            (9, 9),
            "|BHVC*.7S~?aSw^$Q-pKS]=}nBR:k8bHjdNHbcWUfQfQfQfQfQfQfQfQfQ-qm[R.jEflnVIqj^jJNYOsTGS}"
            "TFNZOYP8XL^kRYOZc7W-Xkn%S|O*fQfQfQfQfQfQfQfQfQ}HDxGZb.o0pHRoO:O+%A_RDxKhxcF5RBW0N[",
        ),
    ],
)
def test_blurhash_encoder_matches_the_reference(
    width: int, height: int, components: tuple[int, int], expected: str
) -> None:
    assert encode_blurhash(_pattern(width, height), width, height, *components) == expected
