-- Issue 13 (admin delays, docs/RULES.md §2 "Clearings and loosenings").
-- A lock's cleared_at may now lie in the future: the clearing is pending while
-- admin.unlock_delay runs, and the lock holds until then (read with cleared_at > now).
CREATE INDEX locks_clearing ON locks (account_id, cleared_at);

-- The rules each account is guarded under now (the file's rules less the loosenings still
-- waiting), so a restart with an edited file cannot skip admin.loosen_delay. Account 0 holds
-- the daemon-wide `admin:` section.
CREATE TABLE settings_in_force (
    account_id  INTEGER PRIMARY KEY,
    settings    TEXT    NOT NULL CHECK (json_valid(settings)),
    updated_at  TEXT    NOT NULL
);

-- Loosenings waiting for admin.loosen_delay: one per (account, rule), replaced by a later
-- change of that rule and deleted when applied or cancelled (a tightening cancels it).
CREATE TABLE pending_loosenings (
    account_id  INTEGER NOT NULL,
    rule        TEXT    NOT NULL,                    -- a rule key, "engine" or "admin"
    before      TEXT    NOT NULL CHECK (json_valid(before)),  -- the settings in force
    after       TEXT    NOT NULL CHECK (json_valid(after)),   -- the settings once due
    due_at      TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (account_id, rule)
);
