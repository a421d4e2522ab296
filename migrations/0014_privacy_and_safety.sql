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

-- A block takes each side out of the other's notifications, exactly: every event of `actor` in
-- the recipient's groups goes (set-based: one statement per block and direction, whatever the
-- number of groups), each group's actor count drops by one, the latest remaining actor (and,
-- for COMMENT and MENTION groups, the latest remaining comment) becomes its face, and a group
-- left empty disappears. Returns the ids of the groups that changed or disappeared.
CREATE FUNCTION retract_actor_events(p_recipient bigint, p_actor bigint)
RETURNS TABLE (notification_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    SELECT coalesce(array_agg(locked.id), '{}') INTO v_ids
      FROM (SELECT n.id FROM notifications n
             WHERE n.recipient_id = p_recipient
               AND EXISTS (SELECT 1 FROM notification_actors a
                            WHERE a.notification_id = n.id AND a.actor_id = p_actor)
             ORDER BY n.id
               FOR UPDATE OF n) locked;
    IF cardinality(v_ids) = 0 THEN
        RETURN;
    END IF;
    DELETE FROM notification_actors a
     WHERE a.notification_id = ANY (v_ids) AND a.actor_id = p_actor;
    DELETE FROM notifications n
     WHERE n.id = ANY (v_ids)
       AND NOT EXISTS (SELECT 1 FROM notification_actors a WHERE a.notification_id = n.id);
    UPDATE notifications n
       SET actor_count = n.actor_count - 1,
           actor_id = (SELECT a.actor_id FROM notification_actors a
                        WHERE a.notification_id = n.id
                        ORDER BY a.created_at DESC, a.actor_id DESC LIMIT 1),
           comment_id = CASE WHEN n.kind IN ('COMMENT', 'MENTION') THEN
               (SELECT c.id FROM notification_actors a JOIN comments c ON c.id = a.source_id
                 WHERE a.notification_id = n.id AND a.source_id <> 0
                 ORDER BY a.created_at DESC, a.actor_id DESC LIMIT 1)
               ELSE n.comment_id END
     WHERE n.id = ANY (v_ids);
    RETURN QUERY SELECT unnest(v_ids);
END;
$$;
