-- Privacy and safety: private accounts and their follow requests, blocks and mutes
-- (docs/privacy.md says what each does; services/visibility.py holds the rule).
-- depends: 0013_unguessable_media_keys

ALTER TABLE users ADD COLUMN is_private boolean NOT NULL DEFAULT false;

-- Someone asking to follow a private account; becomes a row of `follows` when approved.
CREATE TABLE follow_requests (
    requester_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (requester_id, target_id),
    CHECK (requester_id <> target_id)
);
-- The owner's list of pending requests, newest first.
CREATE INDEX follow_requests_target_page_idx
    ON follow_requests (target_id, created_at DESC, requester_id DESC);

-- A block hides the two accounts from each other everywhere; the rule reads it both ways.
CREATE TABLE blocks (
    blocker_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id, blocker_id);
CREATE INDEX blocks_blocker_page_idx ON blocks (blocker_id, created_at DESC, blocked_id DESC);

-- A mute hides the muted account's posts and notifications from the muter only.
CREATE TABLE mutes (
    muter_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    muted_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (muter_id, muted_id),
    CHECK (muter_id <> muted_id)
);
CREATE INDEX mutes_muter_page_idx ON mutes (muter_id, created_at DESC, muted_id DESC);

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('LIKE', 'COMMENT', 'FOLLOW', 'MENTION', 'FOLLOW_REQUEST', 'FOLLOW_ACCEPTED'));
