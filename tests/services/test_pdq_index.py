"""The PDQ multi-index answers exactly what a scan of every entry answers, for any distance up
to 31, including hashes placed right around the threshold (services/pdq_index.py)."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from services.pdq_index import MAX_DISTANCE, PdqIndex, scan

HASHES = st.binary(min_size=32, max_size=32)


def flipped(value: bytes, bits: list[int]) -> bytes:
    """`value` with the given bit positions (0..255, big-endian order) inverted."""
    number = int.from_bytes(value, "big")
    for bit in bits:
        number ^= 1 << bit
    return number.to_bytes(32, "big")


@st.composite
def lists_and_queries(draw: st.DrawFn) -> tuple[list[tuple[int, bytes]], bytes, int]:
    """A blocklist (random hashes, some of them copies of the query with a number of bits
    flipped around the threshold, spread over the words or packed into few of them), a query
    and a distance."""
    query = draw(HASHES)
    entries: list[bytes] = draw(st.lists(HASHES, max_size=30))
    for _ in range(draw(st.integers(0, 12))):
        count = draw(st.integers(0, 40))
        packed = draw(st.booleans())
        pool = list(range(draw(st.integers(count, 256)) if packed else 256))
        bits = draw(st.permutations(pool))[:count] if pool else []
        entries.append(flipped(query, bits))
    distance = draw(st.sampled_from([0, 1, 2, 15, 29, 30, 31]))
    return list(enumerate(entries, start=1)), query, distance


@given(lists_and_queries())
@example(  # two bits differ in every word: 32 apart, just past what the index must find
    ([(7, flipped(bytes(32), [w * 16 + b for w in range(16) for b in (0, 9)]))], bytes(32), 31)
)
@example(  # 31 apart with one word differing in a single bit: must be found
    (
        [(8, flipped(bytes(32), [0] + [w * 16 + b for w in range(1, 16) for b in (0, 9)]))],
        bytes(32),
        31,
    )
)
def test_the_index_finds_exactly_what_a_scan_finds(
    case: tuple[list[tuple[int, bytes]], bytes, int],
) -> None:
    entries, query, distance = case
    assert PdqIndex(entries).search(query, distance) == scan(entries, query, distance)


def test_a_large_random_list_agrees_with_the_scan_near_the_threshold() -> None:
    chooser = random.Random(19)
    entries = [(number, chooser.randbytes(32)) for number in range(1, 20_001)]
    index = PdqIndex(entries)
    for distance in (29, 30, 31, 32, 33):
        for _ in range(20):
            _, base = chooser.choice(entries)
            query = flipped(base, chooser.sample(range(256), distance))
            expected = scan(entries, query, MAX_DISTANCE)
            assert index.search(query, MAX_DISTANCE) == expected
            assert bool(expected) == (distance <= MAX_DISTANCE)


def test_distances_past_what_the_index_covers_are_refused() -> None:
    with pytest.raises(ValueError, match="31"):
        PdqIndex([]).search(bytes(32), 32)
