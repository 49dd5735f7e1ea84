-- Gateway users, their sessions, second factors and machine tokens.

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE,
    role                TEXT    NOT NULL CHECK (role IN ('admin', 'operator', 'agent', 'viewer')),
    password_hash       TEXT    NOT NULL,           -- argon2id PHC string, parameters included
    password_changed_ns INTEGER NOT NULL,
    created_ns          INTEGER NOT NULL,
    disabled_ns         INTEGER,                     -- set when disabled
    last_login_ns       INTEGER,
    totp_secret         BLOB,                        -- AES-256-GCM sealed, bound to the user id
    totp_pending        BLOB,                        -- an enrollment waiting for its first code
    totp_enabled_ns     INTEGER
);

-- One row per login. The refresh token is stored only as a SHA-256 hash;
-- earlier hashes of the same session stay in used_refresh so presenting
-- one again is recognised as reuse (and revokes the whole session).
CREATE TABLE sessions (
    id              TEXT    PRIMARY KEY,             -- sid, 128 random bits, hex
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_key      TEXT    NOT NULL,                -- SHA-256 of device id and user agent
    device_id       TEXT    NOT NULL,
    user_agent      TEXT    NOT NULL,
    remember        INTEGER NOT NULL,
    client_ip       TEXT    NOT NULL,
    created_ns      INTEGER NOT NULL,
    expires_ns      INTEGER NOT NULL,                -- absolute end
    last_seen_ns    INTEGER NOT NULL,
    refresh_hash    BLOB    NOT NULL UNIQUE,
    refresh_count   INTEGER NOT NULL DEFAULT 0,
    revoked_ns      INTEGER,
    revoke_reason   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id, created_ns);
CREATE INDEX sessions_device ON sessions (user_id, device_key, created_ns);
CREATE INDEX sessions_expires ON sessions (expires_ns);

CREATE TABLE used_refresh (
    hash       BLOB    PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    used_ns    INTEGER NOT NULL
);

-- A TOTP time step is accepted once per user: the primary key makes two
-- concurrent logins with the same code race at the index, and one loses.
CREATE TABLE totp_used_steps (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    step    INTEGER NOT NULL,
    used_ns INTEGER NOT NULL,
    PRIMARY KEY (user_id, step)
);

CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL UNIQUE,              -- SHA-256 of the normalised code (>= 112 bits)
    created_ns INTEGER NOT NULL,
    used_ns    INTEGER
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Machine tokens for agents and automation: the secret part is stored only
-- as a SHA-256 hash (it carries 256 random bits).
CREATE TABLE gateway_tokens (
    id          TEXT    PRIMARY KEY,                 -- the public part of the token
    name        TEXT    NOT NULL UNIQUE,
    role        TEXT    NOT NULL CHECK (role IN ('operator', 'agent', 'viewer')),
    secret_hash BLOB    NOT NULL,
    created_ns  INTEGER NOT NULL,
    expires_ns  INTEGER,
    last_used_ns INTEGER,
    revoked_ns  INTEGER
);
