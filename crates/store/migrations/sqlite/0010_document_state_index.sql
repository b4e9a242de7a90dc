-- The web pages' look-ups of an agency's documents, newest first: by state (việc của
-- tôi) and by direction (the outgoing and incoming lists).
CREATE INDEX document_agency_state ON document (agency, state, id);
CREATE INDEX document_agency_direction ON document (agency, direction, id);
