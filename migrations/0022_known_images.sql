-- Known-bad images (#19, docs/moderation.md "Known-bad images"): the PDQ hashes of every
-- processed photo and video keyframe, and the blocklist they are matched against.
-- depends: 0020_moderation

-- The blocklist: PDQ hashes (32 bytes, the hex form's byte order) that admins added, with where
-- they came from (an exchange's list name, "upload by <admin>", ...). The matching index lives
-- in each worker's memory (services/known_images.py), rebuilt when `generation` changes.
CREATE TABLE known_images (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash       bytea       NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
    source     text        NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
    added_by   bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row: bumped in the same transaction as any change to known_images, so a reader that sees
-- a generation also sees every change it counts (a sequence would not: it is not transactional).
CREATE TABLE known_images_generation (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint  NOT NULL
);
INSERT INTO known_images_generation (singleton, generation) VALUES (true, 0);

CREATE FUNCTION bump_known_images_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE known_images_generation SET generation = generation + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER known_images_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON known_images
    FOR EACH STATEMENT EXECUTE FUNCTION bump_known_images_generation();

-- The PDQ hashes of a media item: frame 0 is the photo (or a video's poster), frames 1.. are a
-- video's sampled keyframes (at_seconds into it). Kept for later matching (a hash added to the
-- blocklist later) and for moderators; an admin can add a media item's hashes to the blocklist.
CREATE TABLE media_pdq_hashes (
    media_id   bigint   NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    frame      smallint NOT NULL CHECK (frame >= 0),
    at_seconds real,
    hash       bytea    NOT NULL CHECK (octet_length(hash) = 32),
    quality    smallint NOT NULL CHECK (quality BETWEEN 0 AND 100),
    PRIMARY KEY (media_id, frame)
);
