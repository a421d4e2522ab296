-- The visibility rule's "not deactivated" test (storage/pg/visibility.py, not_blocked_sql) on
-- an index of the deactivated accounts only. Without it, a query checking many rows (the
-- RANKED feed's ~500 candidates, a comment page) is planned as a hashed subplan over a
-- sequential scan of the whole users table: ~0.8 ms per use at 10k users, growing with every
-- account. The index holds only deactivated accounts (few), so it costs almost nothing to keep.
-- depends: 0018_leaving

CREATE INDEX users_deactivated_idx ON users (id) WHERE deactivated_at IS NOT NULL;
