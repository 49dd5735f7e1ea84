//go:build !windows

package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// plant makes dir/name a link to ../outside/target and returns the target's
// path, which does not exist yet.
func plant(t *testing.T, name string) (dir, link, target string) {
	t.Helper()
	root := t.TempDir()
	dir = filepath.Join(root, "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "outside"), 0o700); err != nil {
		t.Fatal(err)
	}
	link = filepath.Join(dir, name)
	target = filepath.Join(root, "outside", "target")
	if err := os.Symlink("../outside/target", link); err != nil {
		t.Fatal(err)
	}
	return dir, link, target
}

func wantLink(t *testing.T, err error, link string) {
	t.Helper()
	var le *LinkError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a *LinkError", err)
	}
	if le.Path != link || le.Target != "../outside/target" {
		t.Fatalf("LinkError %+v", le)
	}
	if !strings.Contains(err.Error(), link) || !strings.Contains(err.Error(), "../outside/target") {
		t.Fatalf("message does not name the link and its target: %v", err)
	}
}

func TestCheckFile(t *testing.T) {
	dir, link, _ := plant(t, "warden.db")
	if err := CheckFile(filepath.Join(dir, "missing")); err != nil {
		t.Fatalf("a missing file: %v", err)
	}
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckFile(regular); err != nil {
		t.Fatalf("a regular file: %v", err)
	}
	wantLink(t, CheckFile(link), link)
	// A dangling link is refused as well as one with a target.
	if err := CheckFiles(dir, "regular", "warden.db"); err == nil {
		t.Fatal("CheckFiles passed a link")
	}
	// Not a directory, or none at all: nothing to check, Prepare says so.
	if err := CheckFiles(regular, "warden.db"); err != nil {
		t.Fatalf("CheckFiles on a file: %v", err)
	}
	if err := CheckFiles(filepath.Join(dir, "missing"), "warden.db"); err != nil {
		t.Fatalf("CheckFiles on a missing dir: %v", err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := CheckFile(sub); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "a directory") {
		t.Fatalf("a directory: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckFile(fifo); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf("a fifo: %v", err)
	}
}

// OpenFile with O_CREATE never creates the file a link points to, whether
// the link was there before the call or not.
func TestOpenFileDoesNotCreateTheTarget(t *testing.T) {
	_, link, target := plant(t, "warden.db")
	f, err := OpenFile(link, os.O_RDWR|os.O_CREATE, 0o600)
	if err == nil {
		f.Close()
	}
	wantLink(t, err, link)
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the link's target was created: %v", err)
	}
}

// The open itself refuses a link, so one planted after the check is not
// followed either: exercise the open without the check in front of it.
func TestNoFollowFlagRefusesALink(t *testing.T) {
	_, link, target := plant(t, "secrets.enc.yaml")
	f, err := os.OpenFile(link, os.O_RDWR|os.O_CREATE|oNoFollow, 0o600)
	if err == nil {
		f.Close()
		t.Fatal("the open followed the link")
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the link's target was created: %v", err)
	}
}

func TestReadFile(t *testing.T) {
	dir, link, target := plant(t, "secrets.enc.yaml")
	if err := os.WriteFile(target, []byte("planted"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := ReadFile(link)
	if len(data) != 0 {
		t.Fatalf("read through the link: %q", data)
	}
	wantLink(t, err, link)
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(regular); err != nil || string(data) != "mine" {
		t.Fatalf("%q %v", data, err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}
}

// A state dir that is itself a link (moved to another disk) is allowed;
// only the files in it are checked.
func TestStateDirMayBeALink(t *testing.T) {
	root := t.TempDir()
	moved := filepath.Join(root, "disk", "warden")
	if err := os.MkdirAll(moved, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "state")
	if err := os.Symlink(moved, dir); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(filepath.Join(dir, DatabaseFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := os.Stat(filepath.Join(moved, DatabaseFile)); err != nil {
		t.Fatal(err)
	}
}
