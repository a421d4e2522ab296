-- Refresh tokens rotated away, per session. Presenting one of these again is a replay: the
-- session is revoked. Presenting any other secret with a session's id is merely invalid: someone
-- who learned a session id (it travels in access tokens) cannot log its owner out by guessing.

CREATE TABLE retired_refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid  NOT NULL REFERENCES sessions (id) ON DELETE CASCADE
);
CREATE INDEX retired_refresh_tokens_session_id_idx ON retired_refresh_tokens (session_id);
