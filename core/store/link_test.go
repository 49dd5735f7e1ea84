//go:build !windows

package store

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"modernc.org/sqlite"

	"github.com/warden-sec/warden/core/statedir"
)

// linkedState returns a state dir and, beside it, an "elsewhere" dir that
// links planted in the state dir point into.
func linkedState(t *testing.T) (state, elsewhere string) {
	t.Helper()
	root := t.TempDir()
	state, elsewhere = filepath.Join(root, "state"), filepath.Join(root, "elsewhere")
	for _, d := range []string{state, elsewhere} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return state, elsewhere
}

func wantLinkError(t *testing.T, err error, link string) {
	t.Helper()
	var le *statedir.LinkError
	if !errors.As(err, &le) || le.Path != link {
		t.Fatalf("err = %v, want a *statedir.LinkError for %s", err, link)
	}
	if !strings.Contains(err.Error(), link) {
		t.Fatalf("the error does not name %s: %v", link, err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// A link in place of the database, or of any file SQLite keeps beside it,
// is refused, and nothing is created or written where it points.
func TestOpenRefusesLinks(t *testing.T) {
	for _, name := range []string{"warden.db", "warden.db-wal", "warden.db-shm", "warden.db-journal"} {
		t.Run(name, func(t *testing.T) {
			state, elsewhere := linkedState(t)
			link := filepath.Join(state, name)
			if err := os.Symlink("../elsewhere/planted", link); err != nil {
				t.Fatal(err)
			}
			s, err := Open(context.Background(), Options{Path: filepath.Join(state, "warden.db")})
			if err == nil {
				s.Close()
				t.Fatal("Open followed a link")
			}
			wantLinkError(t, err, link)
			if got := listDir(t, elsewhere); len(got) != 0 {
				t.Fatalf("files created at the link's target: %v", got)
			}
		})
	}
}

// An existing file at the link's target is neither read as the database
// nor changed.
func TestOpenLeavesTheTargetAlone(t *testing.T) {
	state, elsewhere := linkedState(t)
	target := filepath.Join(elsewhere, "other.db")
	other := openAt(t, target)
	execWrite(t, other, `CREATE TABLE planted (v TEXT)`)
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(state, "warden.db")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(context.Background(), Options{Path: link}); err == nil {
		s.Close()
		t.Fatal("Open followed a link")
	} else {
		wantLinkError(t, err, link)
	}
	after, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("the link's target was modified")
	}
}

// The check on each connection catches a link that appears after Open
// looked at the files (simulated by skipping Open): the connection is
// refused before any pragma touches the file the link points to.
func TestConnectionRefusesALinkBeforeItsPragmas(t *testing.T) {
	state, elsewhere := linkedState(t)
	target := filepath.Join(elsewhere, "other.db")
	other := openWith(t, Options{Path: target})
	execWrite(t, other, `CREATE TABLE planted (v TEXT)`, `PRAGMA journal_mode = DELETE`)
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(state, "warden.db")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	base, err := sqlite.NewConnector(sqliteDSN(link, url.Values{"mode": {"rw"}}))
	if err != nil {
		t.Fatal(err)
	}
	c := &checkedConnector{Connector: base, path: link, pragmas: []string{"journal_mode(WAL)"}}
	conn, err := c.Connect(context.Background())
	if err == nil {
		conn.Close()
		t.Fatal("a connection through a link was accepted")
	}
	wantLinkError(t, err, link)
	after, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("a pragma ran on the link's target")
	}
	if _, err := os.Stat(target + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a -wal file was created beside the target: %v", err)
	}
}

// A connection opened later, when the pool grows, is checked too: a
// database swapped for a link while the store is open is not used.
func TestLaterConnectionsAreChecked(t *testing.T) {
	state, _ := linkedState(t)
	path := filepath.Join(state, "warden.db")
	s := openWith(t, Options{Path: path, ReadConns: 2})
	execWrite(t, s, `CREATE TABLE t (v TEXT)`)
	moved := filepath.Join(state, "moved.db")
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("moved.db", path); err != nil {
		t.Fatal(err)
	}
	// Hold the one open reader so the next Read needs a new connection.
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Read(context.Background(), func(ctx context.Context, q Queryer) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	err := s.Read(context.Background(), func(ctx context.Context, q Queryer) error { return nil })
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantLinkError(t, err, path)
}

// A state dir that is itself a link (moved to another disk) still works:
// only the files in it must not be links.
func TestOpenInLinkedDirectory(t *testing.T) {
	root := t.TempDir()
	moved := filepath.Join(root, "disk")
	if err := os.Mkdir(moved, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "state")
	if err := os.Symlink(moved, dir); err != nil {
		t.Fatal(err)
	}
	s := openAt(t, filepath.Join(dir, "warden.db"))
	execWrite(t, s, `CREATE TABLE t (v TEXT)`)
	if _, err := os.Stat(filepath.Join(moved, "warden.db-wal")); err != nil {
		t.Fatal(err)
	}
}

// A connection whose database is not the file at path (whatever the
// reason) is refused.
func TestConnectionRefusesAnotherFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base, err := sqlite.NewConnector(sqliteDSN(a, url.Values{"mode": {"rw"}}))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := (&checkedConnector{Connector: base, path: b}).Connect(context.Background())
	if err == nil {
		conn.Close()
		t.Fatal("a connection to another file was accepted")
	}
	if !strings.Contains(err.Error(), b) || !strings.Contains(err.Error(), a) {
		t.Fatalf("the error does not name both files: %v", err)
	}
}
