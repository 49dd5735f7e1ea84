// Package audittest builds the audit fixture gallery on disk for tests: an
// insecure deployment that trips every check and a hardened one, each a
// real config file, state dir and identity in a temporary directory.
package audittest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/fsperm"
	"github.com/warden-sec/warden/core/sandbox"
	"github.com/warden-sec/warden/scanners/audit"
	"github.com/warden-sec/warden/scanners/deps/osv"
)

// Now is the fixed clock of the fixtures.
var Now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// Dir is the fixture gallery: scanners/audit/testdata.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// Fixture is a deployment on disk and the audit inputs for it.
type Fixture struct {
	Root    string // the temporary directory holding everything
	Options audit.Options
}

func write(t testing.TB, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	write(t, to, string(data), mode)
}

func chmod(t testing.TB, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// load parses the config as warden does, keeping a refused one.
func load(t testing.TB, path string) (*config.Loaded, *config.ValidationError, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := config.Parse(context.Background(), path, data, nil)
	var ve *config.ValidationError
	if err != nil {
		var ok bool
		if ve, ok = err.(*config.ValidationError); !ok || l == nil {
			t.Fatalf("parse %s: %v", path, err)
		}
	}
	return l, ve, data
}

// Insecure builds the insecure fixture: a config the loader refuses, a
// state dir inside a "Dropbox" folder with loose modes and a symlink out,
// a world-readable identity, a .env with a token, LD_PRELOAD set, a host
// without Landlock or cgroup v2 and running as root, a broken audit log
// chain, and an OSV database that flags the binary's Go version.
func Insecure(t testing.TB) *Fixture {
	t.Helper()
	root := t.TempDir()
	cfg := filepath.Join(root, "warden.yaml")
	copyFile(t, filepath.Join(Dir(), "insecure", "warden.yaml"), cfg, 0o644)
	copyFile(t, filepath.Join(Dir(), "insecure", ".env"), filepath.Join(root, ".env"), 0o644)
	state := filepath.Join(root, "Dropbox", "warden-state")
	write(t, filepath.Join(state, "warden.db"), "database", 0o644)
	write(t, filepath.Join(state, "secrets.enc.yaml"), "store", 0o600)
	write(t, filepath.Join(state, "sessions", "main.jsonl"), "{}\n", 0o640)
	write(t, filepath.Join(state, "workspace", "notes.txt"), "the sandbox's own", 0o666)
	chmod(t, filepath.Join(state, "sessions"), 0o755)
	chmod(t, state, 0o755)
	if err := os.Symlink("/etc", filepath.Join(state, "backup")); err != nil {
		t.Fatal(err)
	}
	identity := filepath.Join(root, "identity.txt")
	write(t, identity, "AGE-SECRET-KEY-1FIXTURE\n", 0o644)

	l, ve, raw := load(t, cfg)
	db := &osv.DB{Dir: filepath.Join(root, "osv")}
	batches, err := osv.ReadPath(context.Background(), filepath.Join(Dir(), "stdlib-osv.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Import(context.Background(), batches, Now); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LD_PRELOAD": "/tmp/hook.so"}
	return &Fixture{Root: root, Options: audit.Options{
		Config: l, ConfigErr: ve, Raw: raw, StateDir: state,
		Policy: fsperm.Policy{DirMode: 0o700, FileMode: 0o600, Exclude: []string{"workspace"}}, ConfigMode: 0o600,
		IdentityPath: identity, Getenv: func(k string) string { return env[k] }, Now: Now,
		Probe: func() sandbox.Host {
			return sandbox.Host{OS: "linux", Supported: true, Namespaces: map[string]bool{"user": false, "pid": true, "mount": true, "net": true, "ipc": true, "uts": true, "cgroup": true},
				Seccomp: true, LandlockABI: 0, Limits: "rlimit", LimitsNotes: []string{"cgroup v2: no unified hierarchy"}, Root: true}
		},
		VerifyLog: func(context.Context) (auditlog.Report, error) {
			return auditlog.Report{OK: false, Entries: 12, First: 1, Last: 12,
				Break: &auditlog.Break{Seq: 7, Kind: auditlog.BreakHash, Reason: "its content does not match its HMAC"}}, nil
		},
		VulnDB: db,
	}}
}

// Hardened builds the hardened fixture: loopback, secrets in the store,
// sandbox all, private modes, a verified log; the host lacks cgroup v2,
// which the config suppresses with a reason.
func Hardened(t testing.TB) *Fixture {
	t.Helper()
	root := t.TempDir()
	cfg := filepath.Join(root, "warden.yaml")
	copyFile(t, filepath.Join(Dir(), "hardened", "warden.yaml"), cfg, 0o600)
	state := filepath.Join(root, "state")
	write(t, filepath.Join(state, "warden.db"), "database", 0o600)
	write(t, filepath.Join(state, "secrets.enc.yaml"), "store", 0o600)
	write(t, filepath.Join(state, "sessions", "main.jsonl"), "{}\n", 0o600)
	chmod(t, filepath.Join(state, "sessions"), 0o700)
	chmod(t, state, 0o700)
	identity := filepath.Join(root, "identity.txt")
	write(t, identity, "AGE-SECRET-KEY-1FIXTURE\n", 0o600)
	l, ve, raw := load(t, cfg)
	if ve != nil {
		t.Fatalf("the hardened fixture does not load: %v", ve)
	}
	store := map[string]string{
		"telegram_bot_token":      "123456789:AAF3kq9ZQm2VxW7bYc8dN4pLr6sT1uJ0hGe",
		"telegram_webhook_secret": "Zx8vQ2mN7pL4kR9tW3yB6cF1hJ5dS0aG",
	}
	return &Fixture{Root: root, Options: audit.Options{
		Config: l, Raw: raw, StateDir: state,
		Policy: fsperm.Policy{DirMode: 0o700, FileMode: 0o600, Exclude: []string{"workspace"}}, ConfigMode: 0o600,
		IdentityPath: identity, Getenv: func(string) string { return "" }, Now: Now,
		Probe: func() sandbox.Host {
			return sandbox.Host{OS: "linux", Supported: true, Namespaces: map[string]bool{"user": true, "pid": true, "mount": true, "net": true, "ipc": true, "uts": true, "cgroup": true},
				Seccomp: true, LandlockABI: 4, Limits: "cgroup1", LimitsNotes: []string{"cgroup v2: no unified hierarchy"}}
		},
		ResolveSecret: func(_ context.Context, name string) (string, error) {
			if v, ok := store[name]; ok {
				return v, nil
			}
			return "", config.ErrSecretMissing
		},
		VerifyLog: func(context.Context) (auditlog.Report, error) {
			return auditlog.Report{OK: true, Entries: 40, First: 1, Last: 40}, nil
		},
		VulnDB: &osv.DB{Dir: filepath.Join(root, "osv")},
	}}
}
