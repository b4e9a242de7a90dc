-- The certificates an agency signs with (its seal, its leaders), as SHA-256 fingerprints
-- (lowercase hex) in a JSON array: a document received from the agency is recognised as
-- its own only when one of its signatures is made with one of them.
-- Keep in step with the other backend's 0007_agency_certificates.sql.
ALTER TABLE agency ADD COLUMN signing_certificates TEXT NOT NULL DEFAULT '[]';
