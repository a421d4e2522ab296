-- Trust and safety (#19, docs/moderation.md): roles, reports, moderation cases, the append-only
-- audit log of moderation actions, appeals, and what the actions leave on the content.
-- depends: 0019_ranker

-- Who may moderate: read from here on every moderation call (services/roles.py), so that a
-- revoked role takes effect at once. The first ADMIN is granted by `shutter admin grant-role`.
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'USER'
    CHECK (role IN ('USER', 'MODERATOR', 'ADMIN'));
CREATE INDEX users_staff_idx ON users (role) WHERE role <> 'USER';
-- Warnings (WARN actions) in force: counted here, shown to moderators only.
ALTER TABLE users ADD COLUMN strike_count integer NOT NULL DEFAULT 0 CHECK (strike_count >= 0);

-- What moderation does to a piece of content, read by the one visibility rule
-- (storage/pg/visibility.py): HIDDEN_PENDING_REVIEW (reported by enough distinct accounts:
-- hidden from everyone but its author until a decision), REMOVED (hidden from everyone).
-- NULL: nothing. (media.moderation is the classifier's verdict, a different thing.)
ALTER TABLE posts ADD COLUMN moderation_state text
    CHECK (moderation_state IN ('HIDDEN_PENDING_REVIEW', 'REMOVED'));
ALTER TABLE comments ADD COLUMN moderation_state text
    CHECK (moderation_state IN ('HIDDEN_PENDING_REVIEW', 'REMOVED'));
ALTER TABLE media ADD COLUMN moderation_state text
    CHECK (moderation_state IN ('HIDDEN_PENDING_REVIEW', 'REMOVED'));
-- MARK_SENSITIVE: clients show the blurhash and a warning until the viewer taps through.
ALTER TABLE media ADD COLUMN sensitive boolean NOT NULL DEFAULT false;

-- One case per subject while it is under review (OPEN or CLAIMED); a RESOLVED case stays as
-- the record and a later report opens a new one. No foreign key to the subject (it is one of
-- four tables); subject_owner_id is the account the subject belongs to (a post's or comment's
-- author, a media item's owner, the account itself), for reach and for telling the author.
CREATE TABLE moderation_cases (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_kind          text        NOT NULL
                          CHECK (subject_kind IN ('POST', 'COMMENT', 'MEDIA', 'USER')),
    subject_id            bigint      NOT NULL,
    subject_owner_id      bigint,
    -- Where the case came from: people's reports and/or the media pipeline's findings.
    sources               text[]      NOT NULL DEFAULT '{}'
                          CHECK (sources <@ ARRAY['REPORTS', 'KNOWN_IMAGE', 'CLASSIFIER']::text[]),
    status                text        NOT NULL DEFAULT 'OPEN'
                          CHECK (status IN ('OPEN', 'CLAIMED', 'RESOLVED')),
    claimed_by            bigint      REFERENCES users (id) ON DELETE SET NULL,
    claimed_at            timestamptz,
    resolved_by           bigint      REFERENCES users (id) ON DELETE SET NULL,
    resolved_at           timestamptz,
    resolution            text,
    resolution_reason     text        CHECK (length(resolution_reason) <= 2000),
    -- Set when the distinct reporters reached MODERATION_HIDE_AFTER_REPORTS (the content's
    -- moderation_state says the same while the case is under review).
    hidden_pending_review boolean     NOT NULL DEFAULT false,
    opened_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'CLAIMED' OR claimed_by IS NOT NULL),
    CHECK ((status = 'RESOLVED') = (resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX moderation_cases_one_open_idx ON moderation_cases (subject_kind, subject_id)
    WHERE status IN ('OPEN', 'CLAIMED');
CREATE INDEX moderation_cases_queue_idx ON moderation_cases (opened_at, id)
    WHERE status IN ('OPEN', 'CLAIMED');

-- What the media pipeline found (no human reporter): for moderators only.
CREATE TABLE moderation_findings (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id    bigint      NOT NULL REFERENCES moderation_cases (id) ON DELETE CASCADE,
    source     text        NOT NULL CHECK (source IN ('KNOWN_IMAGE', 'CLASSIFIER')),
    detail     text        NOT NULL CHECK (length(detail) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_findings_case_idx ON moderation_findings (case_id, id);

-- One report per reporter and case: a second report of a subject under review changes
-- nothing. Who reported is for moderators only (never shown to the reported side).
CREATE TABLE reports (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id      bigint      NOT NULL REFERENCES moderation_cases (id) ON DELETE CASCADE,
    reporter_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject_kind text        NOT NULL CHECK (subject_kind IN ('POST', 'COMMENT', 'MEDIA', 'USER')),
    subject_id   bigint      NOT NULL,
    reason       text        NOT NULL CHECK (reason IN ('SPAM', 'NUDITY', 'HARASSMENT', 'VIOLENCE',
                                                        'HATE', 'SELF_HARM',
                                                        'INTELLECTUAL_PROPERTY', 'OTHER')),
    note         text        CHECK (length(note) <= 1000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, reporter_id)
);
CREATE INDEX reports_reporter_idx ON reports (reporter_id, created_at DESC);

-- The audit log: every moderation action, who (actor_id NULL: the system), what, on which
-- subject, why, when. Append-only: the trigger below refuses UPDATE and DELETE, and no API
-- edits it. No foreign keys, so that the log outlives what it mentions.
CREATE TABLE moderation_actions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id     bigint,
    action       text        NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
    subject_kind text        NOT NULL CHECK (subject_kind IN ('POST', 'COMMENT', 'MEDIA', 'USER')),
    subject_id   bigint      NOT NULL,
    -- The account the subject belonged to when the action was taken (who may appeal it).
    subject_owner_id bigint,
    reason       text        NOT NULL CHECK (length(reason) <= 2000),
    case_id      bigint,
    -- The action a RESTORE (or an overturned appeal) undoes; the end of a SUSPEND.
    reverses_id  bigint,
    until        timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_actions_page_idx ON moderation_actions (created_at DESC, id DESC);
CREATE INDEX moderation_actions_subject_idx ON moderation_actions (subject_kind, subject_id, id);
-- An action is undone at most once (by RESTORE, or by an overturned appeal).
CREATE UNIQUE INDEX moderation_actions_one_undo_idx ON moderation_actions (reverses_id)
    WHERE reverses_id IS NOT NULL;

CREATE FUNCTION refuse_moderation_log_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'moderation_actions is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER moderation_actions_append_only
    BEFORE UPDATE OR DELETE ON moderation_actions
    FOR EACH ROW EXECUTE FUNCTION refuse_moderation_log_change();

-- An appeal of one action by the account it hit, once per action; decided by a moderator
-- other than the action's actor (services/appeals.py checks it).
CREATE TABLE moderation_appeals (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action_id       bigint      NOT NULL UNIQUE REFERENCES moderation_actions (id),
    appellant_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    statement       text        NOT NULL CHECK (length(statement) BETWEEN 1 AND 2000),
    status          text        NOT NULL DEFAULT 'PENDING'
                    CHECK (status IN ('PENDING', 'UPHELD', 'OVERTURNED')),
    decided_by      bigint      REFERENCES users (id) ON DELETE SET NULL,
    decision_reason text        CHECK (length(decision_reason) <= 2000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    CHECK ((status = 'PENDING') = (decided_at IS NULL))
);
CREATE INDEX moderation_appeals_pending_idx ON moderation_appeals (created_at, id)
    WHERE status = 'PENDING';

-- The author is told in the app: content removed (with the action's reason), a warning, an
-- appeal's outcome. The notification points at the audit-log entry it is about.
ALTER TABLE notifications ADD COLUMN moderation_action_id bigint REFERENCES moderation_actions (id);
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('LIKE', 'COMMENT', 'FOLLOW', 'MENTION', 'FOLLOW_REQUEST', 'FOLLOW_ACCEPTED',
                    'DATA_EXPORT_READY', 'CONTENT_REMOVED', 'MODERATION_WARNING',
                    'APPEAL_DECIDED'));
