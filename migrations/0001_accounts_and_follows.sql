-- Accounts, sessions (rotating refresh tokens) and the follow graph.

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Folded to lower case by the application; 1-30 of a-z 0-9 . _
    username        text        NOT NULL CHECK (username ~ '^[a-z0-9._]{1,30}$'),
    -- Stored folded to lower case: uniqueness is case-insensitive.
    email           text        NOT NULL CHECK (length(email) <= 254),
    password_hash   text        NOT NULL,
    full_name       text        CHECK (length(full_name) <= 64),
    bio             text        CHECK (length(bio) <= 150),
    follower_count  integer     NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
    following_count integer     NOT NULL DEFAULT 0 CHECK (following_count >= 0),
    post_count      integer     NOT NULL DEFAULT 0 CHECK (post_count >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- One row per signed-in device. The refresh token is `<id>.<secret>`; only a hash of the
-- current secret is kept. Presenting an older secret of a live session (a replayed, rotated
-- token) revokes the session.
CREATE TABLE sessions (
    id                 uuid        PRIMARY KEY,
    user_id            bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_token_hash bytea       NOT NULL,
    generation         integer     NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    refreshed_at       timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    revoked_at         timestamptz,
    revoked_reason     text
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE follows (
    follower_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
-- Keyset pages of a user's followers and followees, newest first.
CREATE INDEX follows_followee_page_idx ON follows (followee_id, created_at DESC, follower_id DESC);
CREATE INDEX follows_follower_page_idx ON follows (follower_id, created_at DESC, followee_id DESC);
