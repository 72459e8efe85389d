-- A provider's delivery report that arrived before the worker recorded the
-- message as sent (the provider can call back before our commit). Applied,
-- then removed, when the worker records the send.
CREATE TABLE early_delivery_reports (
    provider_message_id  TEXT PRIMARY KEY,
    status               TEXT NOT NULL,
    error_code           TEXT,
    received_at          BIGINT NOT NULL
);
