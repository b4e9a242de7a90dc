-- Sending and receiving documents between agencies (Decision 28/2018, edXML statuses).
-- Keep in step with ../postgres/0005_exchange.sql: same tables, columns and meaning; only
-- identity columns differ.

-- The directory of agencies: those hosted on this node (hosted = 1) and those reached
-- through another node (hosted = 0, node_url). Rows of hosted agencies already exist
-- from setup; the administrator adds others.
ALTER TABLE agency ADD COLUMN hosted BIGINT NOT NULL DEFAULT 1;
ALTER TABLE agency ADD COLUMN node_url TEXT;

-- Packages written by this node (sent) or received by it, in kyso's wire format, kept
-- under <data>/exchange/packages/<digest>.kyso before anyone is acknowledged.
CREATE TABLE exchange_package (
    digest      TEXT PRIMARY KEY NOT NULL,  -- Package::digest, hex
    document_id TEXT NOT NULL,              -- edXML DocumentId
    sender      TEXT NOT NULL,              -- agency id (From/OrganId)
    file        TEXT NOT NULL,              -- relative to <data>/exchange
    size        BIGINT NOT NULL,
    header_json TEXT NOT NULL,              -- the header, for reading without the file
    created_at  TEXT NOT NULL
);
CREATE INDEX exchange_package_document ON exchange_package (document_id);

-- One row per (document, recipient): the sending to one agency and, when the recipient
-- is hosted here, its receipt (the incoming document filed for it). At most one per
-- DocumentId and recipient: sending again is idempotent.
CREATE TABLE exchange_delivery (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id       TEXT NOT NULL,
    package_digest    TEXT NOT NULL REFERENCES exchange_package (digest),
    sender            TEXT NOT NULL,
    sender_document   BIGINT REFERENCES document (id),   -- the sender's outgoing document
    recipient         TEXT NOT NULL,
    route             TEXT NOT NULL,            -- local | remote
    state             TEXT NOT NULL,            -- delivered | queued
    received_document BIGINT REFERENCES document (id),   -- the recipient's incoming document
    last_status       TEXT,                     -- latest status code (01…16)
    recall            TEXT NOT NULL,            -- none | requested | agreed | refused
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (document_id, recipient)
);
CREATE INDEX exchange_delivery_sender ON exchange_delivery (sender_document);
CREATE INDEX exchange_delivery_received ON exchange_delivery (received_document);

-- The status timeline of each delivery (01 arrived … 06 completed, 13/15/16 recall),
-- with the status message (kyso-exchange's canonical JSON) as it would travel.
CREATE TABLE exchange_status (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id  BIGINT NOT NULL REFERENCES exchange_delivery (id),
    code         TEXT NOT NULL,
    description  TEXT NOT NULL,
    actor        TEXT NOT NULL,
    at           TEXT NOT NULL,                 -- RFC 3339 UTC
    message_json TEXT NOT NULL
);
CREATE INDEX exchange_status_delivery ON exchange_status (delivery_id, id);

-- What must still travel to another node (packages to remote recipients, statuses of
-- remote deliveries). Network delivery is not implemented yet: rows stay 'queued'.
CREATE TABLE exchange_outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id BIGINT NOT NULL REFERENCES exchange_delivery (id),
    kind        TEXT NOT NULL,                  -- package | status
    destination TEXT NOT NULL,                  -- agency id
    node_url    TEXT,
    payload     TEXT NOT NULL,                  -- package digest, or exchange_status id
    state       TEXT NOT NULL,                  -- queued | sent | failed
    attempts    BIGINT NOT NULL,
    last_error  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX exchange_outbox_state ON exchange_outbox (state, id);
