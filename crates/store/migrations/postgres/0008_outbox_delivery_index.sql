-- The outbox claim skips a row while an earlier row of its delivery is queued
-- (`NOT EXISTS (… e.delivery_id = … AND e.state = 'queued' AND e.id < …)`): without this
-- index every claim scanned all queued rows once per candidate, quadratic in the backlog.
CREATE INDEX exchange_outbox_delivery ON exchange_outbox (delivery_id, state, id);
