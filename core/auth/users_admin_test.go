package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/warden-sec/warden/core/auditlog"
)

// An admin at a client address changes roles and disables users: each
// change is recorded with the address before it happens, ends the user's
// sessions, and never reaches the owner or the admin's own account.
func TestAdminUserOperations(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.user("owner", RoleAdmin) // the first admin: the owner
	f.user("second", RoleAdmin)
	f.user("bob", RoleViewer)
	tok, err := f.login(LoginRequest{Username: "second"})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := f.svc.Authenticate(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	bobTok, err := f.login(LoginRequest{Username: "bob"})
	if err != nil {
		t.Fatal(err)
	}

	u, err := f.svc.SetRole(ctx, admin, "bob", RoleOperator, "192.0.2.7")
	if err != nil || u.Role != RoleOperator {
		t.Fatalf("set role: %+v %v", u, err)
	}
	if _, err := f.svc.Authenticate(ctx, bobTok.AccessToken); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("bob's session survived the role change: %v", err)
	}
	if n := f.countActions("user.role", "allowed"); n != 1 {
		t.Fatalf("user.role recorded %d times", n)
	}
	if _, err := f.svc.SetRole(ctx, admin, "bob", RoleOperator, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("same role again: %v", err)
	}
	if _, err := f.svc.SetRole(ctx, admin, "bob", "root", ""); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("unknown role: %v", err)
	}

	// The owner: promoted or left an admin is fine, demoted or disabled never.
	for _, err := range []error{
		func() error { _, err := f.svc.SetRole(ctx, admin, "owner", RoleOperator, ""); return err }(),
		f.svc.DisableUserAt(ctx, admin, "owner", ""),
	} {
		if !errors.Is(err, ErrOwnerProtected) || !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "gateway.owner") {
			t.Fatalf("owner not protected: %v", err)
		}
	}
	// One's own account.
	if err := f.svc.DisableUserAt(ctx, admin, "second", ""); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "your own account") {
		t.Fatalf("disable oneself: %v", err)
	}
	if _, err := f.svc.SetRole(ctx, admin, "second", RoleViewer, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("demote oneself: %v", err)
	}
	// A role without users.manage may do none of it.
	if err := f.svc.DisableUserAt(ctx, Principal{Kind: "user", Name: "bob", Role: RoleOperator}, "second", ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("operator disables: %v", err)
	}
	if _, err := f.svc.AddUser(ctx, Principal{Kind: "user", Name: "bob", Role: RoleOperator}, "carol", RoleViewer, alicePW, ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("operator adds: %v", err)
	}

	if err := f.svc.DisableUserAt(ctx, admin, "bob", "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.login(LoginRequest{Username: "bob"}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("disabled bob logs in: %v", err)
	}
	if err := f.svc.DisableUserAt(ctx, admin, "bob", ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("disable twice: %v", err)
	}
	if _, err := f.svc.AddUser(ctx, admin, "carol", RoleViewer, alicePW, "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	// Every entry names the address it came from.
	entries, err := f.svc.ListUsers(ctx)
	if err != nil || len(entries) != 4 {
		t.Fatalf("users: %+v %v", entries, err)
	}
	for _, a := range []string{"user.role", "user.disable", "user.create"} {
		found := false
		if err := f.log.Each(ctx, 0, f.now.AddDate(-1, 0, 0), func(e auditlog.Entry) error {
			if e.Action == a && e.SourceIP == "192.0.2.7" && e.Actor == "user:second" {
				found = true
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Errorf("no %s entry by user:second from 192.0.2.7", a)
		}
	}
}
