-- The tamper-evident audit log. body is the canonical encoding of an entry
-- (the bytes its HMAC covers); time_ns repeats its time for range queries.
-- hash = HMAC-SHA256(key, prev_hash || body); prev_hash of the first entry
-- is 32 zero bytes, or the anchor recorded by a retention_purge entry.
-- Its full-text index lives in a separate database (audit-index.db).
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    time_ns   INTEGER NOT NULL,
    body      BLOB    NOT NULL,
    prev_hash BLOB    NOT NULL,
    hash      BLOB    NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (time_ns);

-- Small counters, such as one forward cursor per destination (forward:NAME).
CREATE TABLE audit_state (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
