//go:build !windows

package fsperm

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestEnsureDirCreatesPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "state")
	if _, err := EnsureDir(dir, Private()); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Fatalf("mode %04o", m)
	}
}

func TestEnsureDirTightens(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err := EnsureDir(dir, Private())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Fixed) != 1 || mode(t, dir) != 0o700 {
		t.Fatalf("report %+v mode %04o", rep, mode(t, dir))
	}
}

func TestEnsureDirRejectsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureDir(f, Private()); err == nil {
		t.Fatal("a file accepted as state directory")
	}
}

func TestEnforceEveryFile(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	var files []string
	for i := 0; i < 50; i++ {
		p := filepath.Join(sub, "f"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, 0o644)
		files = append(files, p)
	}
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("x"), 0o644)
	os.Chmod(outside, 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}

	problems, err := Check(dir, Private())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 52 { // 50 files, sub, the link
		t.Fatalf("Check found %d problems, want 52: %v", len(problems), problems)
	}
	rep, err := Enforce(dir, Private())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Fixed) != 51 || len(rep.Problems) != 1 || rep.Problems[0].Issue != IssueSymlink {
		t.Fatalf("report: %d fixed, problems %v", len(rep.Fixed), rep.Problems)
	}
	for _, f := range files {
		if m := mode(t, f); m != 0o600 {
			t.Fatalf("%s mode %04o", f, m)
		}
	}
	if m := mode(t, sub); m != 0o700 {
		t.Fatalf("sub mode %04o", m)
	}
	// The link target outside the directory is never touched.
	if m := mode(t, outside); m != 0o644 {
		t.Fatalf("followed the symlink: outside mode %04o", m)
	}
	problems, _ = Check(dir, Private())
	if len(problems) != 1 {
		t.Fatalf("after enforce: %v", problems)
	}
}

func TestSharedGroupPolicy(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o750)
	p := filepath.Join(dir, "f")
	os.WriteFile(p, nil, 0o640)
	os.Chmod(p, 0o640)
	problems, err := Check(dir, Policy{DirMode: 0o750, FileMode: 0o640})
	if err != nil || len(problems) != 0 {
		t.Fatalf("problems %v err %v", problems, err)
	}
	problems, _ = Check(dir, Private())
	if len(problems) != 2 {
		t.Fatalf("private policy found %v", problems)
	}
}

func TestEnforceUnfixable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a file owned by another user")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	p := filepath.Join(dir, "theirs")
	os.WriteFile(p, nil, 0o600)
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := Enforce(dir, Private())
	if !errors.Is(err, ErrUnfixable) {
		t.Fatalf("err = %v, want ErrUnfixable", err)
	}
}

func TestExcludeSkipsADirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(dir, "workspace")
	if err := os.MkdirAll(filepath.Join(ws, "deep"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ws, 0o777); err != nil {
		t.Fatal(err)
	}
	p := Private()
	p.Exclude = []string{"workspace"}
	problems, err := Check(dir, p)
	if err != nil || len(problems) != 0 {
		t.Fatalf("excluded directory checked: %v %v", problems, err)
	}
	// Only a direct child of the checked directory is excluded.
	nested := filepath.Join(dir, "sub", "workspace")
	if err := os.MkdirAll(nested, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(nested, 0o777); err != nil {
		t.Fatal(err)
	}
	if problems, _ := Check(dir, p); len(problems) == 0 {
		t.Fatal("a nested directory of the same name was skipped")
	}
}
