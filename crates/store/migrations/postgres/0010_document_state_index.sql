-- The dashboard's and lists' look-ups: an agency's documents in given states, newest
-- first (kyso-web).
CREATE INDEX document_agency_state ON document (agency, state, id);
