-- Initial schema. Conventions (see store/codec.py):
--   money and prices are Decimal text ('1234.50'), never REAL;
--   instants are ISO-8601 UTC text of fixed width ('2026-03-10T22:00:00.000000+00:00'),
--   so text order is time order and SQL can compare them;
--   trading days are ISO dates ('2026-03-10'); JSON columns hold objects.

-- RULES.md §2: rows keep their history and are never deleted.
CREATE TABLE locks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reuse an id seen in history
    account_id   INTEGER NOT NULL,
    rule         TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('hard', 'soft', 'external')),
    reason       TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    ends_at      TEXT,             -- NULL = until an admin (or the broker) clears it
    cleared_at   TEXT,
    cleared_by   TEXT,
    clear_reason TEXT,
    CHECK ((cleared_at IS NULL) = (cleared_by IS NULL))
);
CREATE INDEX locks_by_account ON locks (account_id, cleared_at, ends_at);

CREATE TABLE timers (
    account_id INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    fires_at   TEXT    NOT NULL,
    payload    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    PRIMARY KEY (account_id, name)
);
CREATE INDEX timers_by_fires_at ON timers (fires_at);

-- One row per gateway trade id: a fill counts once whatever order events arrive in.
CREATE TABLE fills (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL,
    contract_id     TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    price           TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    side            INTEGER NOT NULL,
    profit_and_loss TEXT,              -- NULL on fills that open or add
    fees            TEXT    NOT NULL,
    commissions     TEXT    NOT NULL,
    voided          INTEGER NOT NULL CHECK (voided IN (0, 1)),
    order_id        INTEGER NOT NULL,
    trading_day     TEXT    NOT NULL
);
CREATE INDEX fills_by_day ON fills (account_id, trading_day, created_at);
CREATE INDEX fills_by_time ON fills (account_id, created_at);

CREATE TABLE pnl_snapshots (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    trading_day TEXT    NOT NULL,
    realized    TEXT    NOT NULL,
    unrealized  TEXT,              -- NULL = unknown (a position without a mark), never 0
    net         TEXT,
    balance     TEXT,
    peak_net    TEXT,
    taken_at    TEXT    NOT NULL
);
CREATE INDEX pnl_snapshots_by_day ON pnl_snapshots (account_id, trading_day, taken_at);

-- RULES.md §5: an action is recorded before it is sent and its outcome after.
CREATE TABLE journal (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL,
    rule           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    intent         TEXT    NOT NULL CHECK (json_valid(intent)),
    created_at     TEXT    NOT NULL,
    sent_at        TEXT,
    outcome        TEXT    CHECK (outcome IN ('confirmed', 'failed', 'superseded', 'abandoned')),
    outcome_detail TEXT,
    finished_at    TEXT,
    CHECK ((outcome IS NULL) = (finished_at IS NULL))
);
CREATE INDEX journal_unfinished ON journal (outcome, id);
CREATE INDEX journal_by_account ON journal (account_id, id);

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
