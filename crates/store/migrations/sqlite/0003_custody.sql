-- Users, the agency's signing devices and their handovers (ND30 Art 32-33).
-- Keep in step with the other backend's 0003_custody.sql.

-- Agency users; the record (roles, Argon2id hash, certificate) as JSON.
CREATE TABLE app_user (
    agency     TEXT NOT NULL,
    name       TEXT NOT NULL,
    user_json  TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (agency, name)
);

-- Signing devices (tokens) by serial; custodian duplicated from the JSON so that a
-- change of custody is a compare-and-set on one column.
CREATE TABLE signing_device (
    serial      TEXT PRIMARY KEY NOT NULL,
    agency      TEXT NOT NULL,
    custodian   TEXT NOT NULL,
    device_json TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE handover (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    agency        TEXT NOT NULL,
    device        TEXT NOT NULL REFERENCES signing_device (serial),
    state         TEXT NOT NULL,
    handover_json TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX handover_device ON handover (device, id);
-- At most one handover in progress per device.
CREATE UNIQUE INDEX handover_open ON handover (device)
    WHERE state IN ('requested', 'approved', 'accepted');
