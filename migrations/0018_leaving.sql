-- Leaving (#20): deactivation, deletion after a grace period, and data exports.
-- depends: 0016_accounts

-- Set while the account is deactivated (by its owner, or during a deletion's grace period):
-- the one visibility rule hides it and its content from everyone (storage/pg/visibility.py).
-- Logging in clears it.
ALTER TABLE users ADD COLUMN deactivated_at timestamptz;
-- When a requested deletion takes effect; NULL when none is pending. Logging in before then
-- clears it; from then on the erasing job owns the account (services/erasure.py).
ALTER TABLE users ADD COLUMN erase_after timestamptz;
CREATE INDEX users_erase_after_idx ON users (erase_after) WHERE erase_after IS NOT NULL;

-- One export of an account's data: a zip in the blob store (private key under exports/<user>/),
-- downloadable through a signed link until expires_at.
CREATE TABLE data_exports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status      text        NOT NULL DEFAULT 'QUEUED'
                CHECK (status IN ('QUEUED', 'RUNNING', 'READY', 'FAILED', 'EXPIRED')),
    progress    integer     NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    blob_key    text,
    byte_size   bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    expires_at  timestamptz
);
-- One export at a time per account.
CREATE UNIQUE INDEX data_exports_one_running_idx ON data_exports (user_id)
    WHERE status IN ('QUEUED', 'RUNNING');
CREATE INDEX data_exports_user_idx ON data_exports (user_id, id DESC);
CREATE INDEX data_exports_expires_idx ON data_exports (expires_at) WHERE status = 'READY';

-- The owner is told in the app too when an export is ready to download.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('LIKE', 'COMMENT', 'FOLLOW', 'MENTION', 'FOLLOW_REQUEST', 'FOLLOW_ACCEPTED',
                    'DATA_EXPORT_READY'));
