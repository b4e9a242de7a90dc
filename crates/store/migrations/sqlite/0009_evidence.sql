-- Evidence records (RFC 4998, docs/evidence.md): the validation material captured when
-- an original is archived (`material.json`, written beside it like verification.json,
-- kept here byte-exact so that recovery writes the same bytes), and whether the original
-- waits for its evidence record or is sealed (`evidence.ers` beside it).
ALTER TABLE document ADD COLUMN material_json TEXT;
ALTER TABLE document ADD COLUMN evidence_state TEXT;  -- NULL (none) | waiting | sealed
ALTER TABLE document ADD COLUMN evidence_time TEXT;   -- RFC 3339 UTC: the first time-stamp
CREATE INDEX document_evidence ON document (evidence_state);
-- Originals archived before evidence records wait for theirs too (without captured
-- material: their record covers the original and its signature).
UPDATE document SET evidence_state = 'waiting' WHERE archive_dir IS NOT NULL;
