-- Rule memory (docs/ENGINE.md "Restarts"): what a rule must remember across restarts, one
-- JSON object per account and rule key (RULE-016's peak and floor, RULE-012's tag count and
-- best prices, our order tags, warn-once marks). Replaced as a whole on every change.
CREATE TABLE rule_memory (
    account_id INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    data       TEXT    NOT NULL CHECK (json_valid(data)),
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (account_id, key)
);
