-- The alert outbox (docs/RUNTIME.md "Alert delivery"): every alert meant for the webhook,
-- written before it is posted and delivered in id order, so an alert survives a failing
-- webhook and a restart. A row ends delivered (kept a while for the record, then pruned) or
-- given up once older than `alerts.keep_undelivered`.
CREATE TABLE alert_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- delivery order; never reused
    alert_id     TEXT    NOT NULL UNIQUE,            -- the body's "id": the receiver's dedupe key
    account_id   INTEGER NOT NULL,
    severity     TEXT    NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    body         TEXT    NOT NULL CHECK (json_valid(body)),  -- posted as is
    created_at   TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,                               -- never the URL
    delivered_at TEXT,
    given_up_at  TEXT,
    CHECK (delivered_at IS NULL OR given_up_at IS NULL)
);
CREATE INDEX alert_outbox_pending ON alert_outbox (delivered_at, given_up_at, id);
