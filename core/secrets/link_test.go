//go:build !windows

package secrets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/warden-sec/warden/core/statedir"
)

func wantLink(t *testing.T, err error, link string) {
	t.Helper()
	var le *statedir.LinkError
	if !errors.As(err, &le) || le.Path != link {
		t.Fatalf("err = %v, want a *statedir.LinkError for %s", err, link)
	}
}

// A store planted elsewhere and linked into the state dir is not read,
// though it is encrypted to the owner and would decrypt and verify.
func TestStoreRefusesALinkedStore(t *testing.T) {
	planted, kr := newStore(t)
	if _, err := planted.Set(context.Background(), "gateway_token", "the planter's value"); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(planted.Path())
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	st := NewStore(state, kr, nil)
	if err := os.Symlink(planted.Path(), st.Path()); err != nil {
		t.Fatal(err)
	}
	if !st.Exists() {
		t.Fatal("Exists does not see the link")
	}
	_, err = st.Get(context.Background(), "gateway_token")
	wantLink(t, err, st.Path())
	_, err = st.Names()
	wantLink(t, err, st.Path())
	_, err = st.Set(context.Background(), "gateway_token", "new")
	wantLink(t, err, st.Path())
	after, err := os.ReadFile(planted.Path())
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatal("the link's target was modified")
	}
}

// Init refuses a dangling link rather than report "already exists", and
// creates nothing at its target.
func TestInitRefusesALink(t *testing.T) {
	kr, _ := newKeyring(t)
	state, elsewhere := t.TempDir(), t.TempDir()
	st := NewStore(state, kr, nil)
	target := filepath.Join(elsewhere, StoreFileName)
	if err := os.Symlink(target, st.Path()); err != nil {
		t.Fatal(err)
	}
	rs, err := kr.DefaultRecipients()
	if err != nil {
		t.Fatal(err)
	}
	wantLink(t, st.Init(context.Background(), rs), st.Path())
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the link's target was created: %v", err)
	}
}

// The lock file beside the store is checked too: the lock would
// otherwise create its file at the link's target.
func TestLockRefusesALink(t *testing.T) {
	st, _ := newStore(t)
	lockPath := st.Path() + ".lock"
	if err := os.Remove(lockPath); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "lock")
	if err := os.Symlink(target, lockPath); err != nil {
		t.Fatal(err)
	}
	_, err := st.Set(context.Background(), "name", "value")
	wantLink(t, err, lockPath)
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the link's target was created: %v", err)
	}
}
