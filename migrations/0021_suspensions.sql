-- Suspensions and bans (#19; services/suspensions.py, docs "Suspensions and bans").
-- depends: 0020_moderation

-- Set while the account is suspended (suspended_until: when it lifts itself) or banned
-- (suspended_until NULL). The one visibility rule (storage/pg/visibility.py) hides a suspended
-- account as a deactivated one, comparing suspended_until with now(): a suspension whose end
-- has passed is over without any job (log-in reads the same predicate). Lifting clears the three.
-- suspension_reason is the moderator's, for moderators: no API shows it to anyone else.
ALTER TABLE users ADD COLUMN suspended_at timestamptz;
ALTER TABLE users ADD COLUMN suspended_until timestamptz;
ALTER TABLE users ADD COLUMN suspension_reason text;
ALTER TABLE users ADD CONSTRAINT users_suspension_check
    CHECK (suspended_at IS NOT NULL OR (suspended_until IS NULL AND suspension_reason IS NULL));
