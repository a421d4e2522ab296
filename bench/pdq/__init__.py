"""bench/pdq: what known-bad image matching costs (docs/moderation.md, "Known-bad images").

``python -m bench.pdq [--runs 15] [--entries 1000000] [--lookups 2000]`` starts throwaway
PostgreSQL and Valkey (bench.harness.services), loads a blocklist of ``--entries`` random PDQ
hashes, and measures in one run:

1. **A 12 MP photo** (bench.media's synthetic 4000x3000 camera JPEG, ~3 MB): the whole media
   pipeline as the worker runs it (services.media_processing.process_media with the worker's
   own deps: the open_nsfw classifier, the blocklist of ``--entries`` hashes, the local blob
   store; upload sealed, original read, six variants written, row updated), per photo; next to
   it the PDQ step alone on the same photo: hashing its largest variant (media.pdq) and the
   blocklist look-up, and their share of the pipeline (target: at most 10 %).
2. **Blocklist look-ups** at ``--entries`` hashes, p50/p95/p99 over ``--lookups`` queries (half
   a listed hash with 8 to 31 bits flipped, so a match; half random, so none), each a real
   Blocklist.find (the generation read from PostgreSQL, the in-memory multi-index, the entry
   read on a match; target p99 at most 20 ms); beside, in the same run, the baselines: a numpy
   scan of every hash (XOR and popcount, vectorized) and the same multi-index probes done by
   PostgreSQL itself (16 indexed word columns in a scratch table, the candidates checked with
   bit_count), both over the same hashes and queries. Also the index's build time and size.

Random hashes spread evenly over the 65,536 values of each word (about 15 per bucket at a
million); real lists cluster more, which makes buckets larger: the look-up cost grows with the
candidates checked, printed as "candidates/query". Side effects: a temporary directory and
throwaway servers (removed at exit); prints to stdout. Everything talks to loopback only.
"""
