-- Uploaded media and what processing made of them.
-- depends: 0001_accounts_and_follows

CREATE TABLE media (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id               bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind                   text        NOT NULL CHECK (kind IN ('IMAGE', 'VIDEO')),
    status                 text        NOT NULL DEFAULT 'AWAITING_UPLOAD'
                           CHECK (status IN ('AWAITING_UPLOAD', 'PROCESSING', 'READY', 'REJECTED', 'FAILED')),
    -- What the client declared in createUpload; the upload must match the size exactly.
    declared_content_type  text        NOT NULL,
    byte_size              bigint      NOT NULL CHECK (byte_size > 0),
    original_filename      text        NOT NULL CHECK (length(original_filename) <= 255),
    -- Sniffed from the uploaded bytes by completeUpload.
    content_type           text,
    width                  integer,
    height                 integer,
    duration_seconds       double precision,
    blurhash               text,
    -- [{"name": "1080", "key": "media/1/1080.jpg", "width": 1080, "height": 810, "content_type": "image/jpeg"}, ...]
    variants               jsonb       NOT NULL DEFAULT '[]',
    playback_key           text,
    -- EXIF camera, time and GPS: shown to the owner only, never in a published file.
    photo_metadata         jsonb,
    moderation             text,
    rejection_reason       text,
    processing_attempts    integer     NOT NULL DEFAULT 0,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_owner_idx ON media (owner_id, created_at DESC);
-- The sweeper looks for media stuck in PROCESSING.
CREATE INDEX media_processing_idx ON media (updated_at) WHERE status = 'PROCESSING';
