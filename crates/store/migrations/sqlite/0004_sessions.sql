-- Web sessions, API tokens and login throttling of `kyso serve` (kept in the database,
-- not in a process, so that replicas share them). Keep in step with the other backend's
-- 0004_sessions.sql. Only SHA-256 hashes of secrets are stored.

CREATE TABLE web_session (
    token_hash TEXT PRIMARY KEY NOT NULL,
    agency     TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    csrf_hash  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX web_session_user ON web_session (agency, user_name);

CREATE TABLE api_token (
    token_hash TEXT PRIMARY KEY NOT NULL,
    agency     TEXT NOT NULL,
    name       TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX api_token_name ON api_token (agency, name);

-- Failed logins per client address in the current window (per-account throttling is
-- the account's own counter in app_user).
CREATE TABLE login_throttle (
    address      TEXT PRIMARY KEY NOT NULL,
    failures     INTEGER NOT NULL,
    window_start TEXT NOT NULL
);

-- The agencies a node hosts, with their names (set up through `kyso serve`'s one-time
-- setup link, or by the first office command naming the agency).
CREATE TABLE agency (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
