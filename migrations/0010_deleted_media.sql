-- A deleted post's media end DELETED: their files (original, variants, playable copy) are
-- removed from storage by a job after the post is deleted, and the row keeps no keys.

ALTER TABLE media DROP CONSTRAINT media_status_check;
ALTER TABLE media ADD CONSTRAINT media_status_check
    CHECK (status IN ('AWAITING_UPLOAD', 'PROCESSING', 'READY', 'REJECTED', 'FAILED', 'DELETED'));
