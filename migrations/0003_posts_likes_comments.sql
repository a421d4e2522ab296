-- Posts (1 to 10 media each), likes and comments.
-- depends: 0002_media

CREATE TABLE posts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    caption       text        CHECK (length(caption) <= 2200),
    status        text        NOT NULL DEFAULT 'PROCESSING'
                  CHECK (status IN ('PROCESSING', 'PUBLISHED', 'REJECTED', 'FAILED', 'DELETED')),
    -- Snapshot of the Redis counter, written by the periodic flush (exact after each flush).
    like_count    integer     NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    -- Kept exact in the transaction that adds or deletes a comment.
    comment_count integer     NOT NULL DEFAULT 0 CHECK (comment_count >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Set once, when every media item is READY; feeds and profiles order by it.
    published_at  timestamptz,
    deleted_at    timestamptz,
    CHECK ((status = 'PUBLISHED') = (published_at IS NOT NULL AND deleted_at IS NULL)
           OR status = 'DELETED')
);
-- Profile grids and the pull side of the feed: an author's published posts, newest first.
CREATE INDEX posts_author_published_idx ON posts (author_id, published_at DESC, id DESC)
    WHERE status = 'PUBLISHED';
-- Explore and global recency.
CREATE INDEX posts_published_idx ON posts (published_at DESC, id DESC) WHERE status = 'PUBLISHED';

CREATE TABLE post_media (
    post_id  bigint   NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position smallint NOT NULL CHECK (position BETWEEN 0 AND 9),
    media_id bigint   NOT NULL UNIQUE REFERENCES media (id),
    alt_text text     CHECK (length(alt_text) <= 1000),
    PRIMARY KEY (post_id, position)
);

CREATE TABLE likes (
    post_id    bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, user_id)
);
-- Likers of a post, newest first (the PK serves counting and "has the viewer liked").
CREATE INDEX likes_post_page_idx ON likes (post_id, created_at DESC, user_id DESC);
-- A viewer's recent likes: affinity to authors in ranking.
CREATE INDEX likes_user_recent_idx ON likes (user_id, created_at DESC);

CREATE TABLE comments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id    bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text       text        NOT NULL CHECK (length(text) BETWEEN 1 AND 2200),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A post's comments, oldest first.
CREATE INDEX comments_post_page_idx ON comments (post_id, created_at, id);
-- A viewer's recent comments: affinity to authors in ranking.
CREATE INDEX comments_author_recent_idx ON comments (author_id, created_at DESC);
