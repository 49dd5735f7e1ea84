package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWriteCreatesWithMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secret")
	if err := WriteFile(p, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "hello" {
		t.Fatalf("read back %q, %v", got, err)
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
		}
	}
}

func TestWriteReplacesAndKeepsOldOnFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cfg")
	if err := WriteFile(p, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFrom(p, func(w io.Writer) error {
		_, _ = w.Write([]byte("partial"))
		return boom
	}, Options{})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "v1" {
		t.Fatalf("target changed to %q after failed write", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestNoOverwrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x")
	if err := Write(p, []byte("a"), Options{NoOverwrite: true}); err != nil {
		t.Fatal(err)
	}
	err := Write(p, []byte("b"), Options{NoOverwrite: true})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "a" {
		t.Fatalf("overwritten: %q", got)
	}
}

func TestExplicitMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes do not apply on windows")
	}
	p := filepath.Join(t.TempDir(), "report.html")
	if err := Write(p, []byte("x"), Options{Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
}

// A write to a path that is a symbolic link replaces the link and leaves
// the file it points to untouched; with NoOverwrite the link counts as an
// existing file, dangling or not.
func TestWriteNeverWritesThroughALink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need a privilege on Windows")
	}
	dir, elsewhere := t.TempDir(), t.TempDir()
	target := filepath.Join(elsewhere, "target")
	if err := os.WriteFile(target, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "secrets.enc.yaml")
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("mine"), Options{NoOverwrite: true}); !errors.Is(err, ErrExists) {
		t.Fatalf("NoOverwrite over a link: %v", err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(elsewhere, "new"), dangling); err != nil {
		t.Fatal(err)
	}
	if err := Write(dangling, []byte("mine"), Options{NoOverwrite: true}); !errors.Is(err, ErrExists) {
		t.Fatalf("NoOverwrite over a dangling link: %v", err)
	}
	if err := WriteFile(p, []byte("mine")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(target); string(got) != "theirs" {
		t.Fatalf("wrote through the link: target now %q", got)
	}
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("the link was not replaced by a regular file: %v %v", fi, err)
	}
	if _, err := os.Lstat(filepath.Join(elsewhere, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file was created at the dangling link's target: %v", err)
	}
}
