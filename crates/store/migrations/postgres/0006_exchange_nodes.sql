-- Delivery between nodes over HTTPS with mutual TLS (kyso serve --exchange-listen).
-- Keep in step with the other backend's 0006_exchange_nodes.sql.

-- The SHA-256 (hex) of the TLS client certificate of the node hosting an agency: a
-- package or status claiming to come from that agency is accepted only over a
-- connection authenticated with this certificate.
ALTER TABLE agency ADD COLUMN node_certificate TEXT;

-- The outbox worker takes due rows, most urgent first: priority = the package header's
-- Priority (0 thường … 3 hỏa tốc, 4 hỏa tốc hẹn giờ), next_attempt = Unix milliseconds
-- before which the row is not tried (a claim moves it forward by a lease; a failure by
-- the exponential backoff).
ALTER TABLE exchange_outbox ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
ALTER TABLE exchange_outbox ADD COLUMN next_attempt BIGINT NOT NULL DEFAULT 0;
CREATE INDEX exchange_outbox_due ON exchange_outbox (state, priority, next_attempt);
