package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/sops"
)

func newKeyring(t *testing.T) (*Keyring, Identity) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cfg", "warden", IdentityFileName)
	id, err := GenerateIdentity(p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &Keyring{DefaultPath: p}, id
}

func newStore(t *testing.T) (*Store, *Keyring) {
	t.Helper()
	kr, _ := newKeyring(t)
	st := NewStore(t.TempDir(), kr, nil)
	rs, err := kr.DefaultRecipients()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Init(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	return st, kr
}

func TestGenerateIdentityPrivateAndNoOverwrite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d", IdentityFileName)
	if _, err := GenerateIdentity(p, time.Now()); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity mode %04o", fi.Mode().Perm())
	}
	before, _ := os.ReadFile(p)
	if _, err := GenerateIdentity(p, time.Now()); err == nil {
		t.Fatal("overwrote an existing identity")
	}
	after, _ := os.ReadFile(p)
	if string(before) != string(after) {
		t.Fatal("identity changed")
	}
}

func TestIdentityReadableByOthersRefused(t *testing.T) {
	kr, _ := newKeyring(t)
	os.Chmod(kr.DefaultPath, 0o644)
	_, err := kr.Identities()
	var pe *PermissionError
	if !errors.As(err, &pe) || !strings.Contains(pe.Hint(), "chmod 600") {
		t.Fatalf("err = %v", err)
	}
}

func TestExplicitIdentityInline(t *testing.T) {
	_, id := newKeyring(t)
	data, _ := os.ReadFile(id.Source)
	var key string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "AGE-SECRET-KEY-") {
			key = l
		}
	}
	kr := &Keyring{Explicit: key, ExplicitSource: "WARDEN_IDENTITY"}
	ids, err := kr.Identities()
	if err != nil || len(ids) != 1 || ids[0].Recipient != id.Recipient || ids[0].Source != "WARDEN_IDENTITY" {
		t.Fatalf("ids %+v err %v", ids, err)
	}
}

func TestStoreLifecycle(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	const secret = "s3cr3t-value-that-must-not-leak-9f8e7d"
	if replaced, err := st.Set(ctx, "gateway_token", secret); err != nil || replaced {
		t.Fatalf("set: %v replaced=%v", err, replaced)
	}
	if _, err := st.Set(ctx, "telegram_bot_token", "123:abc\nsecond line"); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, "gateway_token")
	if err != nil || got != secret {
		t.Fatalf("get %q %v", got, err)
	}
	if ml, _ := st.Get(ctx, "telegram_bot_token"); ml != "123:abc\nsecond line" {
		t.Fatalf("multi-line value %q", ml)
	}
	raw, _ := os.ReadFile(st.Path())
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), "123:abc") {
		t.Fatal("plaintext secret on disk")
	}
	fi, _ := os.Stat(st.Path())
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("store mode %04o", fi.Mode().Perm())
	}
	entries, err := st.List(ctx)
	if err != nil || len(entries) != 2 || entries[0].Name != "gateway_token" || entries[0].Updated.IsZero() {
		t.Fatalf("list %+v %v", entries, err)
	}
	names, err := st.Names()
	if err != nil || strings.Join(names, ",") != "gateway_token,telegram_bot_token" {
		t.Fatalf("names %v %v", names, err)
	}
	if replaced, err := st.Set(ctx, "gateway_token", "other"); err != nil || !replaced {
		t.Fatalf("replace: %v %v", err, replaced)
	}
	if err := st.Delete(ctx, "gateway_token"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "gateway_token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := st.Delete(ctx, "gateway_token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

func TestStoreRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	for _, name := range []string{"", "Upper", "-x", "a b", strings.Repeat("a", 65), "../x"} {
		if _, err := st.Set(ctx, name, "v"); !errors.Is(err, ErrInvalidName) {
			t.Errorf("name %q: %v", name, err)
		}
	}
	for _, v := range []string{"", string([]byte{0xff, 0xfe}), strings.Repeat("x", MaxValueBytes+1)} {
		if _, err := st.Set(ctx, "ok", v); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("value of %d bytes: %v", len(v), err)
		}
	}
	if err := st.Init(ctx, nil); !errors.Is(err, ErrStoreExists) {
		t.Fatalf("second init: %v", err)
	}
}

func TestStoreWrongIdentity(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	st.Set(ctx, "a", "b")
	other, otherID := newKeyring(t)
	st2 := NewStore(filepath.Dir(st.Path()), other, nil)
	_, err := st2.Get(ctx, "a")
	var de *DecryptError
	if !errors.As(err, &de) || !errors.Is(err, sops.ErrNoMatchingIdentity) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(de.Error(), "no matching identity") || !strings.Contains(de.Hint(), otherID.Recipient) ||
		len(de.Recipients) != 1 || !strings.Contains(de.Hint(), de.Recipients[0]) {
		t.Fatalf("message %q hint %q", de.Error(), de.Hint())
	}
}

func TestStoreTamperDetected(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	st.Set(ctx, "a", "first-value")
	st.Set(ctx, "b", "second-value")
	raw, _ := os.ReadFile(st.Path())
	lines := strings.Split(string(raw), "\n")
	// Swap the two encrypted values: each is bound to its name.
	var ia, ib int
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "    a: ENC"):
			ia = i
		case strings.HasPrefix(l, "    b: ENC"):
			ib = i
		}
	}
	if ia == 0 || ib == 0 {
		t.Fatalf("unexpected layout:\n%s", raw)
	}
	lines[ia], lines[ib] = "    a: "+strings.TrimPrefix(lines[ib], "    b: "), "    b: "+strings.TrimPrefix(lines[ia], "    a: ")
	os.WriteFile(st.Path(), []byte(strings.Join(lines, "\n")), 0o600)
	if _, err := st.Get(ctx, "a"); err == nil {
		t.Fatal("swapped values accepted")
	}
	// Deleting an entry by hand breaks the MAC.
	os.WriteFile(st.Path(), raw, 0o600)
	var kept []string
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(l, "    b: ENC") {
			kept = append(kept, l)
		}
	}
	os.WriteFile(st.Path(), []byte(strings.Join(kept, "\n")), 0o600)
	if _, err := st.Get(ctx, "a"); !errors.Is(err, sops.ErrMACMismatch) {
		t.Fatalf("removed entry: %v", err)
	}
}

func TestStoreConcurrentSets(t *testing.T) {
	ctx := context.Background()
	st, kr := newStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// A separate Store value, as a separate process would have.
			s := NewStore(filepath.Dir(st.Path()), &Keyring{DefaultPath: kr.DefaultPath}, nil)
			if _, err := s.Set(ctx, fmt.Sprintf("k%02d", i), fmt.Sprintf("v%02d", i)); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := st.Snapshot(ctx)
	if err != nil || len(all) != 16 {
		t.Fatalf("lost updates: %d secrets, %v", len(all), err)
	}
}

func TestPassphraseStore(t *testing.T) {
	ctx := context.Background()
	asked := 0
	kr := &Keyring{ScryptWorkFactor: 10, Passphrase: func(context.Context, string) (string, error) {
		asked++
		return "a long passphrase nobody guesses", nil
	}}
	st := NewStore(t.TempDir(), kr, nil)
	r, err := kr.ScryptRecipient(ctx, "new passphrase: ")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Init(ctx, []sops.Recipient{r}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Set(ctx, "x", "y"); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Get(ctx, "x"); err != nil || v != "y" {
		t.Fatalf("%q %v", v, err)
	}
	if asked != 1 {
		t.Fatalf("asked for the passphrase %d times", asked)
	}
	wrong := &Keyring{Passphrase: func(context.Context, string) (string, error) { return "wrong", nil }}
	if _, err := NewStore(filepath.Dir(st.Path()), wrong, nil).Get(ctx, "x"); err == nil {
		t.Fatal("wrong passphrase accepted")
	}
	none := &Keyring{}
	_, err = NewStore(filepath.Dir(st.Path()), none, nil).Get(ctx, "x")
	if !errors.Is(err, ErrNoPassphrase) {
		t.Fatalf("no passphrase source: %v", err)
	}
}

func TestRekeyRotatesAndDropsOldRecipient(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	st.Set(ctx, "a", "value")
	before, _ := os.ReadFile(st.Path())
	newKR, _ := newKeyring(t)
	rs, _ := newKR.DefaultRecipients()
	if err := st.Rekey(ctx, rs); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(st.Path())
	if string(before) == string(after) {
		t.Fatal("rekey changed nothing")
	}
	if _, err := st.Get(ctx, "a"); !errors.Is(err, sops.ErrNoMatchingIdentity) {
		t.Fatalf("old identity still opens the store: %v", err)
	}
	if v, err := NewStore(filepath.Dir(st.Path()), newKR, nil).Get(ctx, "a"); err != nil || v != "value" {
		t.Fatalf("new identity: %q %v", v, err)
	}
}
