-- Discover: hashtags (counted exactly), caption full-text search, user and hashtag prefix search.
-- depends: 0005_notifications

CREATE TABLE hashtags (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Case-folded by the application (services.hashtags.parse_hashtags).
    name       text    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Published posts carrying the tag; changed only by the statement that adds or removes a
    -- post_hashtags row, in that same statement (exact under concurrency).
    post_count integer NOT NULL DEFAULT 0 CHECK (post_count >= 0)
);
-- Unique names, and prefix search (text_pattern_ops serves LIKE 'abc%' under any collation).
CREATE UNIQUE INDEX hashtags_name_key ON hashtags (name text_pattern_ops);

-- The tags of published posts only; published_at is copied so a tag's pages never touch posts.
CREATE TABLE post_hashtags (
    post_id      bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    hashtag_id   bigint      NOT NULL REFERENCES hashtags (id) ON DELETE CASCADE,
    published_at timestamptz NOT NULL,
    PRIMARY KEY (post_id, hashtag_id)
);
-- A tag's posts, newest first (RECENT pages, and the TOP window).
CREATE INDEX post_hashtags_page_idx ON post_hashtags (hashtag_id, published_at DESC, post_id DESC);

-- Caption full text (english stemming), maintained by PostgreSQL itself.
ALTER TABLE posts ADD COLUMN caption_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('english', coalesce(caption, ''))) STORED;
CREATE INDEX posts_caption_tsv_idx ON posts USING gin (caption_tsv) WHERE status = 'PUBLISHED';

-- Case-insensitive prefix search of people (usernames are stored lower case already).
CREATE INDEX users_username_prefix_idx ON users (username text_pattern_ops);
CREATE INDEX users_full_name_prefix_idx ON users (lower(full_name) text_pattern_ops)
    WHERE full_name IS NOT NULL;
