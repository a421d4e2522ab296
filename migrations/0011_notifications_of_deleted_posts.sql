-- Deleting a post deletes the notifications about it (likes, comments, mentions): posts are
-- only marked DELETED, so the foreign key's ON DELETE CASCADE never fires. This index finds
-- them without reading every notification.

CREATE INDEX notifications_post_idx ON notifications (post_id) WHERE post_id IS NOT NULL;
