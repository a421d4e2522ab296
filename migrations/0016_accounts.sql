-- Accounts people can live with (#20): verified email addresses, single-use account tokens
-- (email verification, email change, password reset) and profile pictures.
-- depends: 0014_privacy_and_safety

-- When the current address was confirmed; NULL until then (and again after nothing: an email
-- change switches the address only once the new one is confirmed).
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- A link sent by email. Only the SHA-256 of the random token is kept; a token works once
-- (used_at) and until expires_at. `email` is the address the token was sent to: for
-- VERIFY_EMAIL the account's address at the time, for CHANGE_EMAIL the new address.
CREATE TABLE account_tokens (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('VERIFY_EMAIL', 'CHANGE_EMAIL', 'RESET_PASSWORD')),
    email      text        NOT NULL CHECK (length(email) <= 254),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);

-- The square crops of a user's chosen photo, published under media/avatars/<user>/<random>/.
-- [{"name": "320", "key": "...", "width": 320, "height": 320, "content_type": "image/jpeg"}, ...]
CREATE TABLE profile_pictures (
    user_id    bigint      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    media_id   bigint      REFERENCES media (id) ON DELETE SET NULL,
    variants   jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
