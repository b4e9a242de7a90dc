-- The tamper-evident audit log (kyso-audit), SQLite. Keep in step with
-- ../postgres/0002_audit.sql: same tables, columns and meaning; only identity columns
-- differ. Append-only by convention: kyso never updates or deletes these rows, and
-- `kyso audit verify` detects it when someone does.

-- One row per security event, in insertion order. `position` is the entry's sequence
-- number when it was appended; `entry_json` is the exact canonical JSON that was hashed
-- into the Merkle tree (kyso_audit::Entry::leaf_bytes), `leaf_hash` its RFC 9162 leaf
-- hash (hex), kept so appending does not re-read every entry's text.
CREATE TABLE audit_entry (
    position   BIGINT PRIMARY KEY NOT NULL,
    entry_json TEXT NOT NULL,
    leaf_hash  TEXT NOT NULL
);

-- One row per signed tree head (kyso_audit::TreeHead as JSON); every append signs one,
-- so every committed entry is covered by a signed head.
CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    size      BIGINT NOT NULL,
    head_json TEXT NOT NULL
);
CREATE INDEX audit_head_size ON audit_head (size, id);
