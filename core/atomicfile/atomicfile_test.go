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
