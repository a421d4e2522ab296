-- The learned feed ranker (#22, docs/ranking.md): what RANKED pages served (with the features
-- the ranker used), what clients saw on screen (impressions), and the versioned models.
-- depends: 0016_accounts

-- One row per RANKED first page, append-only, partitioned by day of serving; written in
-- batches by a worker job (COPY), never by the feed request itself. `features` is the page's
-- feature matrix row-major (cardinality(post_ids) rows of cardinality(feature_names)), exactly
-- as the ranker used it. model_version NULL: the formula ranked the page. No foreign keys: a
-- log outlives what it mentions until it expires (ranker_retention_days).
CREATE TABLE ranker_served_pages (
    served_at     timestamptz NOT NULL,
    page_id       text        NOT NULL,
    viewer_id     bigint      NOT NULL,
    model_version integer,
    arm           text        NOT NULL,
    post_ids      bigint[]    NOT NULL,
    feature_names text[]      NOT NULL,
    features      real[]      NOT NULL
) PARTITION BY RANGE (served_at);
CREATE INDEX ranker_served_pages_viewer_idx ON ranker_served_pages (viewer_id, served_at);
-- Rows of days without a partition yet (the cron job creates them ahead): none in normal use.
CREATE TABLE ranker_served_pages_default PARTITION OF ranker_served_pages DEFAULT;

-- What a client reported on screen: one row per (viewer, post, served page), idempotent
-- (the primary key; served_at is the page's and is part of it as the partition key).
-- page_id '' and served_at at the day's start when no RANKED page served the post.
CREATE TABLE ranker_impressions (
    served_at   timestamptz NOT NULL,
    page_id     text        NOT NULL,
    viewer_id   bigint      NOT NULL,
    post_id     bigint      NOT NULL,
    position    integer     NOT NULL CHECK (position >= 0),
    visible_ms  integer     NOT NULL CHECK (visible_ms >= 0),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (viewer_id, post_id, page_id, served_at)
) PARTITION BY RANGE (served_at);
CREATE TABLE ranker_impressions_default PARTITION OF ranker_impressions DEFAULT;

-- Trained models, versioned. `model` is LightGBM's own text format (no pickle: loading it
-- runs no code). At most one ACTIVE; rollback re-activates the one activated before it.
CREATE TABLE ranker_models (
    version       integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    library       text        NOT NULL,
    feature_names text[]      NOT NULL,
    model         bytea       NOT NULL,
    metrics       jsonb       NOT NULL,
    status        text        NOT NULL DEFAULT 'CANDIDATE'
                  CHECK (status IN ('CANDIDATE', 'ACTIVE', 'RETIRED', 'REJECTED')),
    activated_at  timestamptz
);
CREATE UNIQUE INDEX ranker_models_one_active ON ranker_models ((true)) WHERE status = 'ACTIVE';
