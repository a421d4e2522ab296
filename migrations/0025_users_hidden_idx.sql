-- The visibility rule's "account not hidden" test (storage/pg/visibility.py, hidden_account_sql:
-- deactivated, or suspended) on an index of the hidden accounts only. 0024 indexed the
-- deactivated ones, but the rule gained its suspension clause (0021) under the same OR, which
-- that index's predicate does not cover: every feed query was again planned as a hashed subplan
-- over a sequential scan of the whole users table (two per RANKED first page, ~0.8 ms each at
-- 10k users, growing with every account). This predicate is implied by the rule's expression,
-- so the planner uses the index; it holds only hidden accounts (few).
-- depends: 0021_suspensions 0024_users_deactivated_idx

CREATE INDEX users_hidden_idx ON users (id)
    WHERE deactivated_at IS NOT NULL OR suspended_at IS NOT NULL;
DROP INDEX users_deactivated_idx;
