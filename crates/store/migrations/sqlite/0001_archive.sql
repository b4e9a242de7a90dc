-- kyso archive and registers, SQLite. Keep in step with ../postgres/0001_archive.sql:
-- same tables, columns and meaning; only identity columns differ.

-- One row per numbering series (agency, year, register): the last number taken.
CREATE TABLE series_counter (
    series      TEXT PRIMARY KEY NOT NULL,   -- SeriesKey text: 000.00.00.H13/2025/outgoing
    agency      TEXT NOT NULL,
    year        BIGINT NOT NULL,
    register    TEXT NOT NULL,
    last_number BIGINT NOT NULL
);

-- Every document, outgoing and incoming, numbered or not. The register of a series is
-- the documents holding a number of it: a number exists only with its document.
CREATE TABLE document (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    agency            TEXT NOT NULL,
    direction         TEXT NOT NULL,           -- outgoing | incoming
    year              BIGINT NOT NULL,
    type_key          TEXT NOT NULL,           -- DocumentType serde key
    secrecy           TEXT NOT NULL,
    urgency           TEXT NOT NULL,
    electronic        BIGINT NOT NULL,
    state             TEXT NOT NULL,           -- DocState key: outgoing:issued …
    series            TEXT,
    series_number     BIGINT,
    code_number       TEXT,
    code_notation     TEXT,
    issued_date       TEXT,                    -- YYYY-MM-DD
    organ_name        TEXT NOT NULL,
    subject           TEXT NOT NULL,
    duplicate_key     TEXT,                    -- DuplicateKey::text
    sha256            TEXT,                    -- of the original
    archive_dir       TEXT UNIQUE,             -- relative to <data>/archive
    sync_state        TEXT NOT NULL,           -- none | pending | done (see ARCHITECTURE "Archive")
    staging_document  TEXT,                    -- staged file names while pending
    staging_signature TEXT,
    record_json       TEXT NOT NULL,           -- the full DocumentRecord
    verification_json TEXT,
    created_at        TEXT NOT NULL,           -- RFC 3339 UTC
    updated_at        TEXT NOT NULL,
    UNIQUE (series, series_number)
);
CREATE INDEX document_duplicate ON document (duplicate_key);
CREATE INDEX document_sha256 ON document (agency, sha256);
CREATE INDEX document_year ON document (agency, year, type_key);
CREATE INDEX document_sync ON document (sync_state);

-- Processing history (ND30 App. VI §III: keep the full history).
CREATE TABLE document_event (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id BIGINT NOT NULL REFERENCES document (id),
    at          TEXT NOT NULL,
    event       TEXT NOT NULL,
    state       TEXT NOT NULL,
    note        TEXT NOT NULL
);
CREATE INDEX document_event_document ON document_event (document_id, id);

-- Per-agency electronic issuing policy, set by the administrator.
CREATE TABLE agency_policy (
    agency      TEXT PRIMARY KEY NOT NULL,
    policy_json TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Records files (hồ sơ) and their documents.
CREATE TABLE record_file (
    file_code TEXT PRIMARY KEY NOT NULL,
    agency    TEXT NOT NULL,
    year      BIGINT NOT NULL,
    notation  TEXT NOT NULL,
    file_json TEXT NOT NULL
);
CREATE INDEX record_file_year ON record_file (agency, year, notation);

CREATE TABLE file_document (
    file_code   TEXT NOT NULL REFERENCES record_file (file_code),
    document_id BIGINT NOT NULL REFERENCES document (id),
    ordinal     BIGINT NOT NULL,
    PRIMARY KEY (file_code, document_id),
    UNIQUE (file_code, ordinal)
);
