package testscript

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/password"
	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/core/store"
)

// withService opens the identity service over the script's state dir the
// way the gateway does (keys from the secret store, the real database and
// audit log), for commands that stand in for gateway clients.
func withService(ts *testscript.TestScript, fn func(*auth.Service)) {
	ctx := context.Background()
	home := ts.Getenv("HOME")
	state := filepath.Join(home, ".local", "state", "warden")
	kr := &secrets.Keyring{DefaultPath: filepath.Join(home, ".config", "warden", secrets.IdentityFileName)}
	all, err := secrets.NewStore(state, kr, nil).Snapshot(ctx)
	ts.Check(err)
	key := func(name string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(all[name])
		if err != nil || len(b) == 0 {
			ts.Fatalf("secret %s missing: run a warden users command first", name)
		}
		return b
	}
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(state, "warden.db")})
	ts.Check(err)
	defer db.Close()
	l, err := auditlog.Open(ctx, db, key("audit_hmac_key"), auditlog.Options{})
	ts.Check(err)
	defer l.Close()
	svc, err := auth.New(auth.Options{DB: db, Audit: l, AccessKey: key("auth_access_key"), TOTPKey: key("auth_totp_key"),
		Hasher: password.NewHasher(password.Default(), 0)})
	ts.Check(err)
	fn(svc)
}

// gwlogin USER PASSWORDFILE PREFIX logs in as a gateway client would and
// writes the tokens to PREFIX.access and PREFIX.refresh.
func cmdGWLogin(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: gwlogin USER PASSWORDFILE PREFIX")
	}
	pw := ts.ReadFile(args[1])
	for len(pw) > 0 && (pw[len(pw)-1] == '\n' || pw[len(pw)-1] == '\r') {
		pw = pw[:len(pw)-1]
	}
	withService(ts, func(svc *auth.Service) {
		tok, err := svc.Login(context.Background(), auth.LoginRequest{Username: args[0], Password: pw, DeviceID: "script", UserAgent: "testscript", ClientIP: "127.0.0.1"})
		if (err != nil) != neg {
			ts.Fatalf("login: %v", err)
		}
		if err == nil {
			ts.Check(os.WriteFile(ts.MkAbs(args[2]+".access"), []byte(tok.AccessToken), 0o600))
			ts.Check(os.WriteFile(ts.MkAbs(args[2]+".refresh"), []byte(tok.RefreshToken), 0o600))
			ts.Check(os.WriteFile(ts.MkAbs(args[2]+".sid"), []byte(tok.Session.ID), 0o600))
		}
	})
}

// gwauth FILE checks the access token in FILE as the gateway would
// (! gwauth FILE expects it to be refused).
func cmdGWAuth(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: gwauth FILE")
	}
	withService(ts, func(svc *auth.Service) {
		_, err := svc.Authenticate(context.Background(), ts.ReadFile(args[0]))
		if (err != nil) != neg {
			ts.Fatalf("authenticate: %v", err)
		}
	})
}
