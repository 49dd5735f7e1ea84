// Package store is warden's embedded database layer.
//
// The only implementation today is SQLite, through the pure-Go driver
// modernc.org/sqlite (no cgo). [Open] returns a [*Store] over one database
// file, applies any pending schema migrations and records a per-database
// instance id.
//
// # Reads and writes
//
// A Store holds two connection pools on the same file:
//
//   - a reader pool of [Options.ReadConns] connections used by [Store.Read].
//     Each Read runs its callback inside one read-only transaction, so every
//     query in it sees the same consistent snapshot. Reader connections are
//     put in query_only mode and cannot modify the database.
//   - a writer pool of exactly one connection used by [Store.Write]. Each
//     Write runs its callback inside one BEGIN IMMEDIATE transaction, which
//     takes the database write lock up front; it commits when the callback
//     returns nil and rolls back otherwise, including when it panics.
//
// The one-writer rule means writes within a process are serialized by the
// pool instead of by SQLite lock contention, and writes from another process
// (for example the CLI while the gateway is running) wait for the lock for up
// to [Options.BusyTimeout] instead of failing with SQLITE_BUSY. Because the
// lock is taken at BEGIN, a write transaction never has to be upgraded from a
// read lock halfway through, which is the usual cause of unrecoverable
// SQLITE_BUSY errors. A Write callback must not call Write again (there is
// only one writer connection, so that deadlocks); it may call Read, but Read
// does not see the uncommitted changes of the enclosing Write.
//
// The database runs in WAL (write-ahead log) mode: readers never block the
// writer and the writer never blocks readers, so many Read calls proceed
// concurrently with a Write. The writer uses synchronous=FULL, so a Write
// that returned nil survives a crash or power loss. Foreign keys are
// enforced. The database file is created with mode 0600 before SQLite opens
// it (and tightened to 0600 if it already exists with group or other
// permission bits); SQLite gives its -wal and -shm files the same mode.
// None of these files is ever opened through a symbolic link: Open refuses
// a link, and every connection checks that SQLite opened the file at the
// given path itself before it runs a statement.
//
// # Schema migrations
//
// Migrations are SQL files embedded from migrations/<dialect>/NNNN_name.sql.
// Open applies every pending migration in version order, each in its own
// write transaction, and records it in the schema_migrations table; a
// database already at the latest version is left untouched. A database whose
// schema is newer than the newest embedded migration (it was migrated by a
// newer warden) is refused with an error matching [ErrSchemaTooNew].
//
// # Other databases
//
// The exported surface is dialect-neutral so that a PostgreSQL
// implementation (pgx through database/sql) can be added without touching
// callers: SQL is written with '?' placeholders, which a Postgres store
// rebinds to $1, $2, ...; callbacks only see the [Queryer] interface, which
// *sql.Tx satisfies for both drivers; [Store.Dialect] reports which database
// is in use for the rare query that must differ; and migrations for it will
// live in migrations/postgres with the same numbering. A Postgres store will
// have the same method set as [Store], so a caller that needs to abstract
// over both can declare its own small interface with the methods it uses
// (Read, Write, ...) where it needs one; this package deliberately does not
// export one yet.
package store
