-- A browser session (dashboard cookies) is bound to the gateway's origin:
-- every use must carry a value derived from the session id that only a
-- page of that origin holds. Sessions from before this column existed
-- cannot prove which kind they were, so they count as bound: their
-- holders log in again (fail closed).
ALTER TABLE sessions ADD COLUMN bound INTEGER NOT NULL DEFAULT 1;
