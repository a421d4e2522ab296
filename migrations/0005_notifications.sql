-- Notifications, aggregated per recipient, kind and post within a window
-- ("alice and 4 others liked your post"), written and retracted by two functions so that each
-- event costs one round trip inside the statement that causes it.
-- depends: 0003_posts_likes_comments

CREATE TABLE notifications (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text        NOT NULL CHECK (kind IN ('LIKE', 'COMMENT', 'FOLLOW', 'MENTION')),
    post_id      bigint      REFERENCES posts (id) ON DELETE CASCADE,
    comment_id   bigint      REFERENCES comments (id) ON DELETE SET NULL,
    -- The most recent actor, and how many distinct actors the group holds.
    actor_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_count  integer     NOT NULL CHECK (actor_count >= 0),
    -- Set while the group takes more actors: unread and younger than the window.
    open_key     text        UNIQUE,
    window_start timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz
);
CREATE INDEX notifications_recipient_page_idx ON notifications (recipient_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (recipient_id) WHERE read_at IS NULL;

-- Who is in a group, and through what (source = the comment for COMMENT and MENTION, else 0).
CREATE TABLE notification_actors (
    notification_id bigint      NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    actor_id        bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source_id       bigint      NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (notification_id, actor_id, source_id)
);
CREATE INDEX notification_actors_retract_idx ON notification_actors (actor_id, source_id);

-- Add `actor` (through `source`) to the open group of (recipient, kind, post), opening a new
-- group when there is none or it was read or the window passed. Returns the group's id and
-- whether it changed (false when the same actor and source were already in it).
CREATE FUNCTION notify_event(
    p_recipient bigint, p_kind text, p_post bigint, p_comment bigint, p_actor bigint,
    p_source bigint, p_window interval
) RETURNS TABLE (notification_id bigint, changed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := p_recipient || ':' || p_kind || ':' || coalesce(p_post, 0);
    v_id bigint;
    v_inserted integer;
BEGIN
    UPDATE notifications SET open_key = NULL
     WHERE open_key = v_key AND (read_at IS NOT NULL OR window_start < now() - p_window);
    INSERT INTO notifications AS n (recipient_id, kind, post_id, comment_id, actor_id,
                                    actor_count, open_key)
    VALUES (p_recipient, p_kind, p_post, p_comment, p_actor, 0, v_key)
    ON CONFLICT (open_key) DO UPDATE
       SET actor_id = EXCLUDED.actor_id,
           comment_id = coalesce(EXCLUDED.comment_id, n.comment_id),
           created_at = now()
    RETURNING n.id INTO v_id;
    INSERT INTO notification_actors (notification_id, actor_id, source_id)
    VALUES (v_id, p_actor, p_source) ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_inserted = ROW_COUNT;
    IF v_inserted = 1 AND NOT EXISTS (
        SELECT 1 FROM notification_actors a
         WHERE a.notification_id = v_id AND a.actor_id = p_actor AND a.source_id <> p_source
    ) THEN
        UPDATE notifications SET actor_count = actor_count + 1 WHERE id = v_id;
    END IF;
    RETURN QUERY SELECT v_id, v_inserted = 1;
END;
$$;

-- Take `actor` (through `source`) back out of whichever group of (recipient, kind, post) holds
-- it: the count drops when that was the actor's last entry, the latest remaining actor becomes
-- the face of the group, and an empty group disappears. Returns the group's id, or nothing.
CREATE FUNCTION retract_event(
    p_recipient bigint, p_kind text, p_post bigint, p_actor bigint, p_source bigint
) RETURNS TABLE (notification_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT n.id INTO v_id
      FROM notifications n JOIN notification_actors a ON a.notification_id = n.id
     WHERE a.actor_id = p_actor AND a.source_id = p_source AND n.recipient_id = p_recipient
       AND n.kind = p_kind AND n.post_id IS NOT DISTINCT FROM p_post
     ORDER BY n.id DESC LIMIT 1
       FOR UPDATE OF n;
    IF v_id IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM notification_actors a
     WHERE a.notification_id = v_id AND a.actor_id = p_actor AND a.source_id = p_source;
    IF NOT EXISTS (
        SELECT 1 FROM notification_actors a WHERE a.notification_id = v_id AND a.actor_id = p_actor
    ) THEN
        UPDATE notifications SET actor_count = actor_count - 1 WHERE id = v_id;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM notification_actors a WHERE a.notification_id = v_id) THEN
        DELETE FROM notifications WHERE id = v_id;
    ELSE
        UPDATE notifications n
           SET actor_id = latest.actor_id
          FROM (SELECT a.actor_id FROM notification_actors a WHERE a.notification_id = v_id
                 ORDER BY a.created_at DESC, a.actor_id DESC LIMIT 1) latest
         WHERE n.id = v_id;
    END IF;
    RETURN QUERY SELECT v_id;
END;
$$;
