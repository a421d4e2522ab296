-- Sessions people can see and end, and two-factor sign-in (#20, items 4 and 5).
-- depends: 0016_accounts

-- What the owner is shown of each session: the device named from the User-Agent at sign-in
-- (never the raw header), and the client address truncated to its /24 (IPv4) or /48 (IPv6)
-- network (the full address is never stored). Both NULL when unknown (sessions from before).
ALTER TABLE sessions ADD COLUMN device text CHECK (length(device) <= 128);
ALTER TABLE sessions ADD COLUMN approximate_address cidr
    CHECK (masklen(approximate_address) IN (24, 48));

-- One row per account that enrolled in TOTP. `secret_ciphertext` is the base32 secret sealed
-- with AES-GCM under a key derived from SECRET_KEY (services/two_factor.py); `confirmed_at` is
-- NULL while enrolment waits for its first code (the account signs in with a password alone
-- until then). `last_used_step` is the 30-second time step of the last accepted code: a code
-- of that step or an earlier one is refused (replay protection).
CREATE TABLE two_factor (
    user_id           bigint      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_ciphertext bytea       NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    confirmed_at      timestamptz,
    last_used_step    bigint      NOT NULL DEFAULT 0
);

-- Single-use backup codes of a confirmed enrolment: SHA-256 of 80-bit random codes.
CREATE TABLE two_factor_backup_codes (
    user_id   bigint      NOT NULL REFERENCES two_factor (user_id) ON DELETE CASCADE,
    code_hash bytea       NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
