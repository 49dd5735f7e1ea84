package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// openAt opens a Store at path and closes it when the test ends.
func openAt(t testing.TB, path string) *Store {
	t.Helper()
	return openWith(t, Options{Path: path})
}

// openWith opens a Store with opts and closes it when the test ends.
func openWith(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", opts.Path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newTestStore opens a Store on a fresh database file.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "warden.db"))
}

// mustWrite runs a Write and fails the test on error.
func mustWrite(t testing.TB, s *Store, fn func(ctx context.Context, tx Queryer) error) {
	t.Helper()
	if err := s.Write(context.Background(), fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// execWrite runs the statements in one Write.
func execWrite(t testing.TB, s *Store, stmts ...string) {
	t.Helper()
	mustWrite(t, s, func(ctx context.Context, tx Queryer) error {
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
}

// readInt runs a single-value integer query through Read.
func readInt(t testing.TB, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	err := s.Read(context.Background(), func(ctx context.Context, q Queryer) error {
		return q.QueryRowContext(ctx, query, args...).Scan(&n)
	})
	if err != nil {
		t.Fatalf("Read %q: %v", query, err)
	}
	return n
}

// assertMode checks a file's permission bits (not on Windows).
func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s: mode %#o, want %#o", filepath.Base(path), got, want)
	}
}

func TestOpenCreatesPrivateWALDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warden.db")
	s := openAt(t, path)

	assertMode(t, path, 0o600)

	var mode string
	err := s.Read(context.Background(), func(ctx context.Context, q Queryer) error {
		return q.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
	})
	if err != nil {
		t.Fatalf("read journal_mode: %v", err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}

	execWrite(t, s, `CREATE TABLE t (v TEXT)`, `INSERT INTO t VALUES ('x')`)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		assertMode(t, path+suffix, 0o600)
	}
}

func TestWriterPragmas(t *testing.T) {
	s := newTestStore(t)
	want := map[string]int{
		"synchronous":  2, // FULL: a committed write survives a crash
		"foreign_keys": 1,
		"busy_timeout": int(DefaultBusyTimeout / time.Millisecond),
	}
	for pragma, w := range want {
		var got int
		mustWrite(t, s, func(ctx context.Context, tx Queryer) error {
			return tx.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got)
		})
		if got != w {
			t.Errorf("writer PRAGMA %s = %d, want %d", pragma, got, w)
		}
	}
	if got := readInt(t, s, "PRAGMA foreign_keys"); got != 1 {
		t.Errorf("reader PRAGMA foreign_keys = %d, want 1", got)
	}

	// Foreign keys are actually enforced on writes.
	execWrite(t, s,
		`CREATE TABLE parent (id INTEGER PRIMARY KEY)`,
		`CREATE TABLE child (parent_id INTEGER NOT NULL REFERENCES parent (id))`)
	err := s.Write(context.Background(), func(ctx context.Context, tx Queryer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO child (parent_id) VALUES (42)`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Errorf("insert violating a foreign key: err = %v, want FOREIGN KEY constraint failure", err)
	}
}

func TestOpenTightensExistingFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits do not apply on Windows")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "warden.db")
	// A database created by some earlier, careless version, plus a leftover
	// empty WAL file with the same loose mode.
	for _, p := range []string{path, path + "-wal"} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil { // defeat the umask
			t.Fatal(err)
		}
	}
	s := openAt(t, path)
	assertMode(t, path, 0o600)
	assertMode(t, path+"-wal", 0o600)

	execWrite(t, s, `CREATE TABLE t (v TEXT)`)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		assertMode(t, path+suffix, 0o600)
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "does-not-exist")
	path := filepath.Join(dir, "warden.db")
	_, err := Open(context.Background(), Options{Path: path})
	if err == nil {
		t.Fatal("Open succeeded in a missing directory")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "open database "+path) || !strings.Contains(msg, "does not exist") {
		t.Errorf("error %q does not name the path and the missing directory", msg)
	}
	if _, statErr := os.Stat(dir); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("Open created the directory: %v", statErr)
	}
}

func TestOpenInvalidOptions(t *testing.T) {
	dir := t.TempDir()
	for name, opts := range map[string]Options{
		"empty path":         {},
		"negative readers":   {Path: filepath.Join(dir, "a.db"), ReadConns: -1},
		"negative busy wait": {Path: filepath.Join(dir, "b.db"), BusyTimeout: -time.Second},
		"path is directory":  {Path: dir},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(context.Background(), opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.HasPrefix(err.Error(), "open database") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

func TestOpenPathNeedingEscape(t *testing.T) {
	// Characters that are special in a file: URI must not be misparsed as a
	// query string, fragment or escape.
	dir := filepath.Join(t.TempDir(), "we?ird #dir %41")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Skipf("file system does not allow the name: %v", err)
	}
	path := filepath.Join(dir, "warden.db")
	s := openAt(t, path)
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	execWrite(t, s, `CREATE TABLE t (v TEXT)`)
	assertMode(t, path, 0o600)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatalf("no files created in %s", dir)
	}
}

func TestStoreAccessors(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s := openAt(t, "rel.db")
	if s.Dialect() != SQLite {
		t.Errorf("Dialect() = %q, want %q", s.Dialect(), SQLite)
	}
	if want := filepath.Join(dir, "rel.db"); s.Path() != want {
		t.Errorf("Path() = %q, want absolute %q", s.Path(), want)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Error("Ping after Close succeeded")
	}
	if err := s.Write(context.Background(), func(context.Context, Queryer) error { return nil }); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestInstanceIDStableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warden.db")
	s1, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	id1, err := s1.InstanceID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id1) {
		t.Errorf("InstanceID = %q, want 32 lowercase hex digits", id1)
	}
	var created string
	err = s1.Read(context.Background(), func(ctx context.Context, q Queryer) error {
		return q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'created_at'`).Scan(&created)
	})
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := time.Parse(time.RFC3339, created); err != nil || ts.Location() != time.UTC {
		t.Errorf("created_at = %q, want RFC 3339 UTC (%v)", created, err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openAt(t, path)
	id2, err := s2.InstanceID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if id2 != id1 {
		t.Errorf("InstanceID changed across reopen: %q -> %q", id1, id2)
	}
	if n := readInt(t, s2, `SELECT COUNT(*) FROM meta`); n != 2 {
		t.Errorf("meta has %d rows after reopen, want 2", n)
	}

	other := newTestStore(t)
	id3, err := other.InstanceID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if id3 == id1 {
		t.Errorf("two databases share instance id %q", id1)
	}
}

func TestWriteRollsBackOnError(t *testing.T) {
	s := newTestStore(t)
	execWrite(t, s, `CREATE TABLE t (v TEXT)`)

	errBoom := errors.New("boom")
	err := s.Write(context.Background(), func(ctx context.Context, tx Queryer) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES ('doomed')`); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Write err = %v, want %v", err, errBoom)
	}
	if n := readInt(t, s, `SELECT COUNT(*) FROM t`); n != 0 {
		t.Errorf("%d rows after rolled-back Write, want 0", n)
	}
	// The writer connection is usable again.
	execWrite(t, s, `INSERT INTO t VALUES ('kept')`)
	if n := readInt(t, s, `SELECT COUNT(*) FROM t`); n != 1 {
		t.Errorf("%d rows after committed Write, want 1", n)
	}
}

func TestWriteRollsBackOnPanic(t *testing.T) {
	s := newTestStore(t)
	execWrite(t, s, `CREATE TABLE t (v TEXT)`)

	type sentinel struct{ msg string }
	want := &sentinel{"kaboom"}
	func() {
		defer func() {
			if got := recover(); got != want {
				t.Errorf("recovered %v, want the original panic value %v", got, want)
			}
		}()
		_ = s.Write(context.Background(), func(ctx context.Context, tx Queryer) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES ('doomed')`); err != nil {
				t.Errorf("insert: %v", err)
			}
			panic(want)
		})
		t.Error("Write returned instead of re-panicking")
	}()

	if n := readInt(t, s, `SELECT COUNT(*) FROM t`); n != 0 {
		t.Errorf("%d rows after panicking Write, want 0", n)
	}
	// The single writer connection was released: this would hang otherwise.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Write(ctx, func(ctx context.Context, tx Queryer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t VALUES ('kept')`)
		return err
	}); err != nil {
		t.Fatalf("Write after panic: %v", err)
	}
	if n := readInt(t, s, `SELECT COUNT(*) FROM t`); n != 1 {
		t.Errorf("%d rows, want 1", n)
	}
}

func TestWriteCanceledContext(t *testing.T) {
	s := newTestStore(t)
	execWrite(t, s, `CREATE TABLE t (v TEXT)`)

	t.Run("before begin", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		called := false
		err := s.Write(ctx, func(context.Context, Queryer) error {
			called = true
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Write err = %v, want context.Canceled", err)
		}
		if called {
			t.Error("fn ran with a cancelled context")
		}
	})

	t.Run("during fn", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := s.Write(ctx, func(ctx context.Context, tx Queryer) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES ('doomed')`); err != nil {
				return err
			}
			cancel()
			return nil // fn "succeeds", but the commit must not
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Write err = %v, want context.Canceled", err)
		}
		if n := readInt(t, s, `SELECT COUNT(*) FROM t`); n != 0 {
			t.Errorf("%d rows after cancelled Write, want 0", n)
		}
	})

	t.Run("waiting for the writer", func(t *testing.T) {
		holding := make(chan struct{})
		release := make(chan struct{})
		held := make(chan error)
		go func() {
			held <- s.Write(context.Background(), func(context.Context, Queryer) error {
				close(holding)
				<-release
				return nil
			})
		}()
		<-holding
		defer func() {
			close(release)
			if err := <-held; err != nil {
				t.Errorf("holding Write: %v", err)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := s.Write(ctx, func(context.Context, Queryer) error { return nil })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Write err = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestConcurrentWriteIncrements(t *testing.T) {
	s := newTestStore(t)
	execWrite(t, s,
		`CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`,
		`INSERT INTO counter VALUES (1, 0)`)

	const goroutines, perGoroutine = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perGoroutine)
	for range goroutines {
		wg.Go(func() {
			for range perGoroutine {
				// Read-modify-write: only correct if Writes are serialized.
				errs <- s.Write(context.Background(), func(ctx context.Context, tx Queryer) error {
					var n int
					if err := tx.QueryRowContext(ctx, `SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `UPDATE counter SET n = ? WHERE id = 1`, n+1)
					return err
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if n := readInt(t, s, `SELECT n FROM counter WHERE id = 1`); n != goroutines*perGoroutine {
		t.Errorf("counter = %d, want %d", n, goroutines*perGoroutine)
	}
}

func TestTwoStoresOnOneFile(t *testing.T) {
	// Two Stores on one file stand in for the CLI and the gateway process:
	// each has its own writer connection, so they contend for SQLite's lock.
	path := filepath.Join(t.TempDir(), "warden.db")
	cli := openAt(t, path)
	server := openAt(t, path)
	execWrite(t, cli, `CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`,
		`INSERT INTO counter VALUES (1, 0)`)

	stores := []*Store{cli, server}
	const goroutines, writes = 4, 25 // per store
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*goroutines*writes)
	for _, s := range stores {
		for range goroutines {
			wg.Go(func() {
				for range writes {
					// Read first, then write: with a deferred transaction this is
					// the pattern that fails with SQLITE_BUSY instead of waiting.
					errs <- s.Write(context.Background(), func(ctx context.Context, tx Queryer) error {
						var n int
						if err := tx.QueryRowContext(ctx, `SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, `UPDATE counter SET n = ? WHERE id = 1`, n+1)
						return err
					})
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	want := len(stores) * goroutines * writes
	for name, s := range map[string]*Store{"cli": cli, "server": server} {
		if n := readInt(t, s, `SELECT n FROM counter WHERE id = 1`); n != want {
			t.Errorf("%s sees counter = %d, want %d", name, n, want)
		}
	}
	id1, err1 := cli.InstanceID(context.Background())
	id2, err2 := server.InstanceID(context.Background())
	if err1 != nil || err2 != nil || id1 != id2 {
		t.Errorf("instance ids differ: %q (%v) vs %q (%v)", id1, err1, id2, err2)
	}
}

func TestReadSeesCommittedWrites(t *testing.T) {
	s := openWith(t, Options{Path: filepath.Join(t.TempDir(), "warden.db"), ReadConns: 1})
	execWrite(t, s, `CREATE TABLE t (v INTEGER)`)
	// With one reader connection every Read reuses the same pooled
	// connection, which must still see each new commit in the WAL.
	for i := 1; i <= 5; i++ {
		execWrite(t, s, fmt.Sprintf(`INSERT INTO t VALUES (%d)`, i))
		if n := readInt(t, s, `SELECT COUNT(*) FROM t`); n != i {
			t.Fatalf("after %d committed inserts Read sees %d rows", i, n)
		}
	}
	// A Store opened later sees the data as well.
	other := openAt(t, s.Path())
	if n := readInt(t, other, `SELECT COALESCE(SUM(v), 0) FROM t`); n != 15 {
		t.Errorf("second store sees sum %d, want 15", n)
	}
}

func TestReadIsReadOnly(t *testing.T) {
	s := newTestStore(t)
	execWrite(t, s, `CREATE TABLE t (v INTEGER)`)
	err := s.Read(context.Background(), func(ctx context.Context, q Queryer) error {
		_, err := q.ExecContext(ctx, `INSERT INTO t VALUES (1)`)
		return err
	})
	if err == nil {
		t.Fatal("INSERT inside Read succeeded")
	}
	if n := readInt(t, s, `SELECT COUNT(*) FROM t`); n != 0 {
		t.Errorf("%d rows after rejected Read insert, want 0", n)
	}
	errBoom := errors.New("boom")
	if err := s.Read(context.Background(), func(context.Context, Queryer) error { return errBoom }); err != errBoom {
		t.Errorf("Read err = %v, want fn's error unchanged", err)
	}
}

func TestReaderDoesNotBlockWriter(t *testing.T) {
	s := newTestStore(t)
	execWrite(t, s, `CREATE TABLE t (v INTEGER)`, `INSERT INTO t VALUES (1)`)

	inRead := make(chan struct{})
	writeDone := make(chan error)
	readErr := make(chan error, 1)
	go func() {
		readErr <- s.Read(context.Background(), func(ctx context.Context, q Queryer) error {
			var before int
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&before); err != nil {
				return err
			}
			close(inRead)
			// Hold the read transaction open until the write has committed.
			if err := <-writeDone; err != nil {
				return fmt.Errorf("write during read: %w", err)
			}
			var after int
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&after); err != nil {
				return err
			}
			if before != 1 || after != 1 {
				return fmt.Errorf("read snapshot changed: %d rows before, %d after a concurrent commit; want 1 and 1", before, after)
			}
			return nil
		})
	}()

	<-inRead
	// Without WAL the commit would wait for the reader's lock, and the
	// reader waits for the commit: the Write would fail once the deadline
	// (or the busy timeout) passed.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	err := s.Write(ctx, func(ctx context.Context, tx Queryer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (2)`)
		return err
	})
	cancel()
	writeDone <- err
	if err != nil {
		t.Fatalf("Write while a Read is open (readers must not block the writer): %v", err)
	}
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	if n := readInt(t, s, `SELECT COUNT(*) FROM t`); n != 2 {
		t.Errorf("new Read sees %d rows, want 2", n)
	}
}

func TestConcurrentReads(t *testing.T) {
	s := openWith(t, Options{Path: filepath.Join(t.TempDir(), "warden.db"), ReadConns: 4})
	// All four readers hold a transaction at the same time; with fewer
	// reader connections the barrier would never be reached.
	const readers = 4
	var ready sync.WaitGroup
	ready.Add(readers)
	allIn := make(chan struct{})
	go func() { ready.Wait(); close(allIn) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			err := s.Read(ctx, func(ctx context.Context, q Queryer) error {
				var v int
				if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM meta`).Scan(&v); err != nil {
					return err
				}
				ready.Done()
				select {
				case <-allIn:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if err != nil {
				t.Errorf("Read: %v", err)
			}
		})
	}
	wg.Wait()
}

// Compile-time checks that the database/sql types callers may hold satisfy
// Queryer.
var (
	_ Queryer = (*sql.Tx)(nil)
	_ Queryer = (*sql.DB)(nil)
	_ Queryer = (*sql.Conn)(nil)
)

func TestConcurrentFirstOpen(t *testing.T) {
	// Several processes starting at once on a database that does not exist
	// yet: all must agree on one schema and one instance id.
	path := filepath.Join(t.TempDir(), "warden.db")
	const n = 8
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), Options{Path: path}) })
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, s := range stores {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { s.Close() })
		id, err := s.InstanceID(context.Background())
		if err != nil {
			t.Errorf("InstanceID %d: %v", i, err)
		}
		ids[id] = true
	}
	if len(ids) != 1 {
		t.Errorf("concurrent opens produced %d instance ids, want 1", len(ids))
	}
	if stores[0] != nil {
		embedded, err := dialectMigrations(SQLite)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := loadMigrations(embedded)
		if err != nil {
			t.Fatal(err)
		}
		if rows := migrationRows(t, stores[0]); len(rows) != len(ms) {
			t.Errorf("schema_migrations = %q, want one row per migration (%d)", rows, len(ms))
		}
	}
	assertMode(t, path, 0o600)
}
