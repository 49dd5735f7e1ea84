package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL database behind a [Store].
type Dialect string

const (
	// SQLite is the embedded database, implemented with modernc.org/sqlite.
	SQLite Dialect = "sqlite"
	// Postgres is reserved for a future PostgreSQL implementation; it is not
	// implemented yet.
	Postgres Dialect = "postgres"
)

// Default values applied by [Open] when the corresponding [Options] field is
// zero.
const (
	// DefaultBusyTimeout is how long a connection waits for a lock held by
	// another connection or process before failing.
	DefaultBusyTimeout = 5 * time.Second
	// DefaultReadConns is the size of the reader connection pool.
	DefaultReadConns = 4
)

// Queryer is what callers run SQL through inside [Store.Read] and
// [Store.Write]. SQL uses '?' placeholders; a future Postgres store rebinds
// them. *sql.Tx, *sql.DB and *sql.Conn all satisfy it.
type Queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Options configures [Open].
type Options struct {
	// Path is the database file. If it does not exist it is created with
	// mode 0600 before SQLite opens it; if it exists with group or other
	// permission bits it is tightened to 0600 (except on Windows). Its
	// directory must already exist. Neither it nor the files SQLite keeps
	// beside it ([Files]) may be a symbolic link: Open refuses one with a
	// *statedir.LinkError instead of following it.
	Path string
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection (typically another warden process writing the same file)
	// before failing. Zero means DefaultBusyTimeout (5s).
	BusyTimeout time.Duration
	// ReadConns is the maximum number of concurrent reader connections.
	// Zero means DefaultReadConns (4).
	ReadConns int

	// Rebuildable marks a database of derived data (such as a search
	// index) that can be rebuilt from another: commits skip the fsync
	// (synchronous=NORMAL), so a crash may lose the last few commits but
	// never corrupts the file.
	Rebuildable bool
	// Migrations replaces the embedded migrations when non-nil: for a
	// secondary database that one package owns (such as the audit log's
	// search index), and for tests that simulate databases migrated by
	// other warden versions. The FS root holds the NNNN_name.sql files.
	Migrations fs.FS
}

// Store is an open database. It is safe for concurrent use by multiple
// goroutines, and several Stores (in one or more processes) may use the same
// file at once.
type Store struct {
	path   string
	writer *sql.DB // exactly one connection; BEGIN IMMEDIATE
	reader *sql.DB // ReadConns query_only connections

	writeStmts stmtCache // statements prepared on the writer
	readStmts  stmtCache // statements prepared on the readers

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the SQLite database at opts.Path, applies
// pending migrations and records the instance id on first use. ctx bounds
// the time spent opening and migrating; it is not retained.
//
// An error matching [ErrSchemaTooNew] means the database was migrated by a
// newer warden and must not be used by this one.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("open database: empty path")
	}
	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: resolve path: %w", opts.Path, err)
	}
	busy := opts.BusyTimeout
	switch {
	case busy == 0:
		busy = DefaultBusyTimeout
	case busy < 0:
		return nil, fmt.Errorf("open database %s: negative busy timeout %s", path, busy)
	}
	readConns := opts.ReadConns
	switch {
	case readConns == 0:
		readConns = DefaultReadConns
	case readConns < 0:
		return nil, fmt.Errorf("open database %s: negative reader connection count %d", path, readConns)
	}
	migrationFS := opts.Migrations
	if migrationFS == nil {
		migrationFS, err = dialectMigrations(SQLite)
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
	}
	migrations, err := loadMigrations(migrationFS)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}

	if err := preparePrivateFile(path); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}

	s := &Store{path: path}
	sync := "synchronous(FULL)"
	if opts.Rebuildable {
		sync = "synchronous(NORMAL)"
	}
	if err := s.openPools(ctx, busy, readConns, sync); err != nil {
		s.closePools()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := s.migrate(ctx, migrations); err != nil {
		s.closePools()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := s.initMeta(ctx); err != nil {
		s.closePools()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return s, nil
}

// openPools opens the writer and reader pools. The writer is opened and
// pinged first so that it, not a reader, switches a new database to WAL.
func (s *Store) openPools(ctx context.Context, busy time.Duration, readConns int, syncPragma string) error {
	busyMS := busy.Milliseconds()
	if busyMS == 0 {
		busyMS = 1 // sub-millisecond timeouts round up, not down to "no wait"
	}
	busyPragma := "busy_timeout(" + strconv.FormatInt(busyMS, 10) + ")"

	writer, err := s.openDB(url.Values{
		"_txlock":      {"immediate"},
		"_time_format": {"sqlite"},
	}, busyPragma, "journal_mode(WAL)", "foreign_keys(1)", syncPragma)
	if err != nil {
		return fmt.Errorf("open writer: %w", err)
	}
	s.writer = writer
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	// Switching a new database to WAL takes a lock that does not wait on
	// the busy handler, so several processes opening a fresh database at
	// once can see SQLITE_BUSY here: retry within the busy timeout.
	deadline := time.Now().Add(busy)
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 100*time.Millisecond) {
		err := writer.PingContext(ctx)
		if err == nil {
			break
		}
		if !isBusy(err) || time.Now().After(deadline) {
			return fmt.Errorf("connect writer: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect writer: %w", ctx.Err())
		case <-time.After(delay):
		}
	}
	var mode string
	if err := writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("enable WAL journal mode: database reports journal mode %q", mode)
	}

	reader, err := s.openDB(url.Values{
		"_time_format": {"sqlite"},
	}, busyPragma, "foreign_keys(1)", "query_only(1)")
	if err != nil {
		return fmt.Errorf("open readers: %w", err)
	}
	s.reader = reader
	reader.SetMaxOpenConns(readConns)
	reader.SetMaxIdleConns(readConns)
	reader.SetConnMaxLifetime(0)
	reader.SetConnMaxIdleTime(0)
	if err := reader.PingContext(ctx); err != nil {
		return fmt.Errorf("connect reader: %w", err)
	}
	return nil
}

// openDB returns a pool whose connections open s.path read-write but
// never create it (mode=rw: preparePrivateFile created it without
// following links), check that they opened that very file, and then run
// pragmas.
func (s *Store) openDB(params url.Values, pragmas ...string) (*sql.DB, error) {
	params.Set("mode", "rw")
	base, err := sqlite.NewConnector(sqliteDSN(s.path, params))
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(&checkedConnector{Connector: base, path: s.path, pragmas: pragmas}), nil
}

// sqliteDSN returns a "file:" URI for path carrying params. The URI form
// lets a path contain '?', '#' or '%' (they are percent-encoded, and SQLite
// decodes them), which the driver's plain-filename form cannot express.
func sqliteDSN(path string, params url.Values) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: C:/x -> /C:/x, as SQLite expects in file:///C:/x
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: params.Encode()}
	return u.String()
}

// initMeta records the instance id and creation time the first time a
// database is opened. Concurrent first opens are safe: the inserts run in one
// IMMEDIATE transaction and keep whichever values were written first.
func (s *Store) initMeta(ctx context.Context) error {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("generate instance id: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	now := time.Now().UTC().Format(time.RFC3339)
	// Usually already there: look without taking the write lock, so a
	// database another process holds locked can still be opened and read.
	var n int
	if err := s.Read(ctx, func(ctx context.Context, q Queryer) error {
		return q.QueryRowContext(ctx, `SELECT COUNT(*) FROM meta WHERE key IN ('instance_id', 'created_at')`).Scan(&n)
	}); err == nil && n == 2 {
		return nil
	}
	err := s.Write(ctx, func(ctx context.Context, tx Queryer) error {
		const q = `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`
		if _, err := tx.ExecContext(ctx, q, "instance_id", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q, "created_at", now); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("initialize meta: %w", err)
	}
	return nil
}

// Close closes both connection pools. The last connection to close
// checkpoints the WAL into the main database file. Close is idempotent;
// calls after the first return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.closePools(); err != nil {
			s.closeErr = fmt.Errorf("close database %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// closePools closes the readers first so that the writer is the last
// connection and performs the final checkpoint.
func (s *Store) closePools() error {
	var errs []error
	if s.reader != nil {
		if err := s.reader.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close readers: %w", err))
		}
	}
	s.readStmts.close()
	s.writeStmts.close()
	if s.writer != nil {
		if err := s.writer.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close writer: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Dialect reports which SQL database this Store uses; always [SQLite] for
// now.
func (s *Store) Dialect() Dialect { return SQLite }

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that both the writer and a reader connection are usable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database %s writer: %w", s.path, err)
	}
	if err := s.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database %s reader: %w", s.path, err)
	}
	return nil
}

// SchemaVersion returns the highest applied migration version, or 0 for a
// database without migrations.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.Read(ctx, func(ctx context.Context, q Queryer) error {
		var err error
		v, err = currentVersion(ctx, q)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// InstanceID returns the database's instance id: 32 lowercase hex digits
// (128 random bits) generated when the database was first opened and stable
// for its lifetime. It identifies this warden installation, for example in
// logs shared between the CLI and the gateway.
func (s *Store) InstanceID(ctx context.Context) (string, error) {
	var id string
	err := s.Read(ctx, func(ctx context.Context, q Queryer) error {
		return q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, "instance_id").Scan(&id)
	})
	if err != nil {
		return "", fmt.Errorf("read instance id: %w", err)
	}
	return id, nil
}

// Read runs fn against the read pool (many concurrent readers in WAL mode).
// fn runs inside one read-only transaction, so all its queries see the same
// snapshot: the data committed before its first query. Reads never block, and
// are never blocked by, a Write. Statements that modify the database fail.
// fn's error is returned unchanged; fn must close any *sql.Rows it opens
// before returning.
func (s *Store) Read(ctx context.Context, fn func(ctx context.Context, q Queryer) error) error {
	s.readStmts.prepareSeen(ctx, s.reader)
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", withCtxErr(ctx, err))
	}
	// A read-only transaction has nothing to commit; rolling back just ends
	// the snapshot and returns the connection to the pool, also on panic.
	defer func() { _ = tx.Rollback() }()
	return fn(ctx, &cachedTx{Tx: tx, cache: &s.readStmts})
}

// Write runs fn inside one write transaction (BEGIN IMMEDIATE); commits when
// fn returns nil, rolls back otherwise (also on panic, re-panicking). Writes
// are serialized: exactly one writer connection.
//
// fn's own error is returned unchanged (after the rollback); errors from
// beginning or committing the transaction are wrapped, and match
// context.Canceled or context.DeadlineExceeded when ctx ended. fn must not
// call Write (that deadlocks on the single writer connection) and must not
// retain tx after returning.
func (s *Store) Write(ctx context.Context, fn func(ctx context.Context, tx Queryer) error) error {
	s.writeStmts.prepareSeen(ctx, s.writer)
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write transaction: %w", withCtxErr(ctx, err))
	}
	done := false
	defer func() {
		if !done {
			// fn panicked: undo its changes and let the panic continue.
			_ = tx.Rollback()
		}
	}()

	if err := fn(ctx, &cachedTx{Tx: tx, cache: &s.writeStmts}); err != nil {
		done = true
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("roll back write transaction: %w", rbErr))
		}
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit write transaction: %w", withCtxErr(ctx, err))
	}
	return nil
}

// withCtxErr makes err match ctx.Err() when ctx has ended. database/sql can
// report a cancelled transaction as sql.ErrTxDone or a driver interrupt
// error rather than the context error itself.
func withCtxErr(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if cerr == nil || errors.Is(err, cerr) {
		return err
	}
	return fmt.Errorf("%w (%w)", err, cerr)
}

// isBusy reports SQLITE_BUSY (and its extended codes).
func isBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	return strings.Contains(err.Error(), "SQLITE_BUSY")
}
