-- Home feed: followers in id order (fan-out batches), and the few users above the celebrity
-- threshold (the pull side of the feed looks them up without walking a viewer's follow list).
-- depends: 0003_posts_likes_comments

CREATE INDEX follows_followee_follower_idx ON follows (followee_id, follower_id);
CREATE INDEX users_follower_count_idx ON users (follower_count);
