package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/warden-sec/warden/core/statedir"
)

// privateMode is the permission of the database file and, because SQLite
// copies the main file's mode, of its -wal and -shm files.
const privateMode fs.FileMode = 0o600

// Files returns the database file at path and the files SQLite keeps next
// to it (write-ahead log, shared memory index, rollback journal).
func Files(path string) []string {
	return []string{path, path + "-wal", path + "-shm", path + "-journal"}
}

// preparePrivateFile makes sure path exists as a regular file that only its
// owner can read before SQLite opens it. SQLite would otherwise create it
// with 0644 (less the umask), and the -wal and -shm files inherit the main
// file's mode. Existing files with group or other bits, including leftover
// sidecar files, are tightened to 0600. Permissions are not changed on
// Windows, where Unix mode bits do not apply.
//
// None of the files may be a symbolic link. SQLite resolves a link in the
// database's name and then works on the target, creating it, its -wal and
// its -shm beside it; a link planted in the state dir would move the
// database anywhere its owner can write. The file is created here without
// following links, and SQLite is then told never to create it (mode=rw),
// so a link cannot make SQLite create a file either.
func preparePrivateFile(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database directory %s does not exist (it must be created first): %w", dir, err)
	}
	if err != nil {
		return fmt.Errorf("check database directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("database directory %s is not a directory", dir)
	}
	for _, p := range Files(path) {
		if err := statedir.CheckFile(p); err != nil {
			return err
		}
	}

	f, err := statedir.OpenFile(path, os.O_RDWR|os.O_CREATE, privateMode)
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	defer f.Close()
	if runtime.GOOS == "windows" {
		return nil
	}
	if err := tighten(f); err != nil {
		return err
	}
	// Files SQLite keeps next to the database, possibly left over with a
	// looser mode from before the main file was tightened.
	for _, p := range Files(path)[1:] {
		if err := tightenIfLoose(p); err != nil {
			return err
		}
	}
	return nil
}

// tightenIfLoose chmods an existing sidecar file with group or other
// permission bits to 0600. A missing file is not an error.
func tightenIfLoose(path string) error {
	f, err := statedir.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return tighten(f)
}

// tighten chmods an open file (never a link's target) to 0600 when it has
// group or other bits.
func tighten(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	if st.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := f.Chmod(privateMode); err != nil {
		return fmt.Errorf("restrict permissions of %s: %w", f.Name(), err)
	}
	return nil
}

// checkedConnector opens SQLite connections and, before anything reads or
// writes through one, makes sure its main database is the file at path
// itself; only then does it apply the connection's pragmas (journal_mode
// writes to the file). database/sql opens connections lazily, long after
// Open looked at the files, so the check runs on every connection.
type checkedConnector struct {
	driver.Connector
	path    string
	pragmas []string // run in order on each new connection, after the check
}

func (c *checkedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, explain(c.path, err)
	}
	if err := c.setup(ctx, conn); err != nil {
		_ = conn.Close()
		return nil, explain(c.path, err)
	}
	return conn, nil
}

// explain replaces SQLite's "unable to open database file", which is all
// it says when O_NOFOLLOW refused a link, with the link and its target.
func explain(path string, err error) error {
	for _, p := range Files(path) {
		if lerr := statedir.CheckFile(p); lerr != nil {
			return lerr
		}
	}
	return err
}

func (c *checkedConnector) setup(ctx context.Context, conn driver.Conn) error {
	if err := checkOpened(ctx, conn, c.path); err != nil {
		return err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		return errors.New("the sqlite driver cannot execute statements")
	}
	for _, p := range c.pragmas {
		if _, err := ex.ExecContext(ctx, "PRAGMA "+p, nil); err != nil {
			return fmt.Errorf("PRAGMA %s: %w", p, err)
		}
	}
	return nil
}

// checkOpened compares the file SQLite opened as the main database with
// the file at path. SQLite names the file it opened after resolving links,
// and it opens that name with O_NOFOLLOW, so the two are the same file
// only when path itself was not a link at the moment of the open. The
// -wal, -shm and -journal files are named after the opened file, and
// SQLite opens them with O_NOFOLLOW too.
func checkOpened(ctx context.Context, conn driver.Conn, path string) error {
	q, ok := conn.(driver.QueryerContext)
	if !ok {
		return errors.New("the sqlite driver cannot run queries")
	}
	rows, err := q.QueryContext(ctx, "PRAGMA database_list", nil)
	if err != nil {
		return fmt.Errorf("list the open database files: %w", err)
	}
	defer rows.Close()
	var opened string
	dest := make([]driver.Value, len(rows.Columns()))
	for {
		err := rows.Next(dest)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("list the open database files: %w", err)
		}
		if len(dest) >= 3 && text(dest[1]) == "main" {
			opened = text(dest[2])
		}
	}
	if err := statedir.CheckFile(path); err != nil {
		return err
	}
	want, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	got, err := os.Stat(opened)
	if err != nil || !os.SameFile(want, got) {
		return fmt.Errorf("%s: sqlite opened %q instead; refusing a database file that changed while it was opened", path, opened)
	}
	return nil
}

func text(v driver.Value) string {
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	return ""
}
