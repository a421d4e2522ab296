"""An in-memory multi-index hash (MIH) of PDQ hashes: finds every hash within a Hamming
distance of a query without scanning them all.

The 256 bits are cut into 16 words of 16 bits. Two hashes at most 31 bits apart differ by at
most one bit in at least one of those words (if every word differed by 2 or more, they would
be 32 or more apart). So the candidates are the hashes that share, in some word position, the
query's word or one of its 16 one-bit neighbours: 16 x 17 = 272 bucket look-ups. Each word
position keeps its entries ordered by word value with the start of every value's bucket (a
CSR layout: 4 bytes per entry and position, plus 256 KiB per position), so a bucket is one
slice. Candidates are then checked exactly (XOR and popcount), so the answer is exactly what
a scan answers for any distance up to :data:`MAX_DISTANCE` (tests/services/test_pdq_index.py).

With N random hashes a bucket holds N / 65,536 entries: about 4,000 candidates to check per
query at 1,000,000 hashes (bench/pdq measures it). Memory: 32 + 64 bytes per entry.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

WORDS: Final = 16
WORD_VALUES: Final = 1 << 16
MAX_DISTANCE: Final = 2 * WORDS - 1
"""The largest distance the pigeonhole argument above covers (31, PDQ's reference threshold)."""
HASH_BYTES: Final = 32
_NEIGHBOUR_FLIPS: Final = np.array([0] + [1 << bit for bit in range(16)], dtype=np.uint16)


class PdqIndex:
    """An immutable index over (entry id, 32-byte hash) pairs."""

    def __init__(self, entries: Sequence[tuple[int, bytes]]) -> None:
        """Build the index (CPU: ~1 s per million entries; run it in a thread)."""
        count = len(entries)
        self._ids: npt.NDArray[np.int64] = np.fromiter(
            (entry_id for entry_id, _ in entries), dtype=np.int64, count=count
        )
        self._hashes: npt.NDArray[np.uint8] = np.frombuffer(
            b"".join(value for _, value in entries), dtype=np.uint8
        ).reshape(count, HASH_BYTES)
        words = self._hashes.view(">u2").astype(np.uint16)  # (count, 16), big-endian words
        self._order = np.empty((WORDS, count), dtype=np.int32)
        self._starts = np.empty((WORDS, WORD_VALUES + 1), dtype=np.int64)
        all_values = np.arange(WORD_VALUES + 1)
        for position in range(WORDS):
            column = words[:, position]
            order = np.argsort(column, kind="stable")
            self._order[position] = order
            self._starts[position] = np.searchsorted(column[order], all_values)

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    def candidate_count(self, query: bytes) -> int:
        """How many entries a search for `query` checks exactly (for bench/pdq)."""
        return len(self._candidates(np.frombuffer(query, dtype=np.uint8)))

    def search(self, query: bytes, max_distance: int) -> list[tuple[int, int]]:
        """(entry id, distance) of every entry within `max_distance` bits of `query`, nearest
        first (ties by id)."""
        if not 0 <= max_distance <= MAX_DISTANCE:
            raise ValueError(f"the index answers distances up to {MAX_DISTANCE}")
        if len(self) == 0:
            return []
        probe_bytes = np.frombuffer(query, dtype=np.uint8)
        candidates = self._candidates(probe_bytes)
        if len(candidates) == 0:
            return []
        distances = distances_to(self._hashes[candidates], probe_bytes)
        hits = distances <= max_distance
        found = sorted(
            zip(self._ids[candidates[hits]].tolist(), distances[hits].tolist(), strict=True),
            key=lambda item: (item[1], item[0]),
        )
        return [(int(entry_id), int(distance)) for entry_id, distance in found]

    def _candidates(self, probe_bytes: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
        """The rows sharing a word (or a one-bit neighbour of it) with the query, each once."""
        if len(self) == 0:
            return np.empty(0, dtype=np.int32)
        query_words = probe_bytes.view(">u2").astype(np.uint16)
        probes = (query_words[:, None] ^ _NEIGHBOUR_FLIPS[None, :]).astype(np.int64)  # (16, 17)
        rows = np.arange(WORDS)[:, None]
        starts = self._starts[rows, probes].ravel()
        ends = self._starts[rows, probes + 1].ravel()
        positions = np.repeat(np.arange(WORDS), len(_NEIGHBOUR_FLIPS))
        slices = [
            self._order[position, start:end]
            for position, start, end in zip(positions, starts, ends, strict=True)
            if end > start
        ]
        if not slices:
            return np.empty(0, dtype=np.int32)
        return np.unique(np.concatenate(slices))


def distances_to(
    hashes: npt.NDArray[np.uint8], query: npt.NDArray[np.uint8]
) -> npt.NDArray[np.int64]:
    """The Hamming distance of each row of `hashes` (n x 32 bytes) to `query` (32 bytes)."""
    counts: npt.NDArray[np.int64] = np.bitwise_count(hashes ^ query).sum(axis=1, dtype=np.int64)
    return counts


def scan(
    entries: Sequence[tuple[int, bytes]], query: bytes, max_distance: int
) -> list[tuple[int, int]]:
    """What :meth:`PdqIndex.search` answers, by comparing `query` with every entry (the
    baseline of bench/pdq and the oracle of the tests)."""
    found = []
    target = int.from_bytes(query, "big")
    for entry_id, value in entries:
        distance = (int.from_bytes(value, "big") ^ target).bit_count()
        if distance <= max_distance:
            found.append((entry_id, distance))
    return sorted(found, key=lambda item: (item[1], item[0]))
