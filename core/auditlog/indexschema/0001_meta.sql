-- meta holds small per-database facts such as the instance id and creation time.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
