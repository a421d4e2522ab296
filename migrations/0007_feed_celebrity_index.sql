-- Home feed: the celebrity lookup reads (follower_count, id) from the index alone. An index-only
-- scan also keeps the generic plan of the feed's prepared statement cheap, so PostgreSQL stops
-- planning it on every call.
-- depends: 0004_feed

CREATE INDEX users_follower_count_id_idx ON users (follower_count, id);
DROP INDEX users_follower_count_idx;
