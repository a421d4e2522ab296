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

-- At most one row: a fresh number for each statement that changed known_images, written by
-- the trigger below in the changing transaction, so a reader that sees a generation also sees
-- every change it stands for (the sequence alone would not do: it is not transactional). The
-- numbers come from a sequence no column owns, never reset, so a generation is never reused,
-- even after the tables are emptied (no row reads as 0).
CREATE SEQUENCE known_images_generation_seq;
CREATE TABLE known_images_generation (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint  NOT NULL
);

CREATE FUNCTION bump_known_images_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO known_images_generation (singleton, generation)
    VALUES (true, nextval('known_images_generation_seq'))
    ON CONFLICT (singleton) DO UPDATE SET generation = excluded.generation;
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
