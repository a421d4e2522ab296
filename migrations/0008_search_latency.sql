-- Discover latency (issue #6): caption search ranks a bounded, recency-ordered candidate set, and
-- hashtag TOP pages rank engagement stored on post_hashtags (docs/search.md).
-- depends: 0006_discover 0007_feed_celebrity_index

-- Caption search candidates: the `p_limit` most recent published posts at or before `p_as_of`
-- (NULL: no bound) whose caption matches `p_query`, with their ts_rank. The caller ranks and
-- pages these. plan_cache_mode makes every call plan with the actual query, so PostgreSQL
-- chooses per query: walk posts_published_idx newest first and stop after `p_limit` matches
-- (a common term), or read the matches from the GIN index and keep the newest (a rare one).
-- A generic plan, blind to how common the words are, would pick one way for all queries.
CREATE FUNCTION caption_search_candidates(p_query tsquery, p_as_of timestamptz, p_limit integer)
RETURNS TABLE (post_id bigint, rank real, published_at timestamptz)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    RETURN QUERY
    SELECT recent.id, ts_rank(recent.caption_tsv, p_query), recent.published_at
      FROM (
        SELECT p.id, p.caption_tsv, p.published_at FROM posts p
         WHERE p.status = 'PUBLISHED' AND p.caption_tsv @@ p_query
           AND (p_as_of IS NULL OR p.published_at <= p_as_of)
         ORDER BY p.published_at DESC, p.id DESC
         LIMIT p_limit
      ) recent;
END
$$;

-- Hashtag TOP: the post's engagement (likes + 2 * comments, the posts' snapshots) copied onto
-- its tag rows, so a tag's window is ranked from one index without reading posts.
ALTER TABLE post_hashtags ADD COLUMN engagement integer NOT NULL DEFAULT 0;
UPDATE post_hashtags ph SET engagement = p.like_count + 2 * p.comment_count
  FROM posts p WHERE p.id = ph.post_id AND p.like_count + 2 * p.comment_count <> 0;

-- Kept equal to the post's counts in the transaction that changes them (like flush, comment
-- added or deleted); tag rows take the post's value when they are inserted.
CREATE FUNCTION post_hashtags_copy_engagement() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE post_hashtags SET engagement = NEW.like_count + 2 * NEW.comment_count
     WHERE post_id = NEW.id AND engagement <> NEW.like_count + 2 * NEW.comment_count;
    RETURN NULL;
END
$$;
CREATE TRIGGER posts_engagement_to_post_hashtags
    AFTER UPDATE OF like_count, comment_count ON posts
    FOR EACH ROW
    WHEN (OLD.like_count + 2 * OLD.comment_count <> NEW.like_count + 2 * NEW.comment_count)
    EXECUTE FUNCTION post_hashtags_copy_engagement();

-- RECENT pages walk it; TOP ranks the window's rows from it alone (index-only scan).
CREATE INDEX post_hashtags_page_engagement_idx
    ON post_hashtags (hashtag_id, published_at DESC, post_id DESC) INCLUDE (engagement);
DROP INDEX post_hashtags_page_idx;
