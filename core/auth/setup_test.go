package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestSetupCode(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.svc.CompleteSetup(ctx, "", "owner", alicePW, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("setup without an issued code: %v", err)
	}
	code, exp, err := f.svc.IssueSetupCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(strings.ReplaceAll(code, "-", "")) != 20 || !exp.Equal(f.now.Add(SetupCodeTTL)) {
		t.Fatalf("code %q expires %v", code, exp)
	}
	if _, err := f.svc.CompleteSetup(ctx, strings.Replace(code, code[:1], "X", 1), "owner", alicePW, "192.0.2.2"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong code: %v", err)
	}
	// A weak password is refused without burning the code.
	if _, err := f.svc.CompleteSetup(ctx, code, "owner", "short", "192.0.2.3"); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("weak password: %v", err)
	}
	u, err := f.svc.CompleteSetup(ctx, strings.ToLower(code), "owner", alicePW, "192.0.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != RoleAdmin {
		t.Fatalf("role %s", u.Role)
	}
	if _, err := f.svc.CompleteSetup(ctx, code, "second", alicePW, "192.0.2.3"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("code used twice: %v", err)
	}
	if _, _, err := f.svc.IssueSetupCode(ctx); !errors.Is(err, ErrConflict) {
		t.Fatalf("code issued with users present: %v", err)
	}
}

func TestSetupCodeExpires(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	code, _, err := f.svc.IssueSetupCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(SetupCodeTTL)
	if _, err := f.svc.CompleteSetup(ctx, code, "owner", alicePW, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("expired code accepted: %v", err)
	}
}

// Two requests racing with the right code make one admin at most.
func TestSetupCodeRacesOnce(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RateLimit = false })
	ctx := context.Background()
	code, _, err := f.svc.IssueSetupCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	made := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.CompleteSetup(ctx, code, "owner"+string(rune('a'+i)), alicePW, "192.0.2.1"); err == nil {
				mu.Lock()
				made++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if n, _ := f.svc.CountUsers(ctx); made != 1 || n != 1 {
		t.Fatalf("%d setups succeeded, %d users", made, n)
	}
}

// A user created another way (warden users add) ends setup at once.
func TestSetupEndsWhenAUserExists(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	code, _, _ := f.svc.IssueSetupCode(ctx)
	f.user("alice", RoleAdmin)
	if _, err := f.svc.CompleteSetup(ctx, code, "owner", alicePW+"x", "192.0.2.1"); !errors.Is(err, ErrConflict) {
		t.Fatalf("setup after a user exists: %v", err)
	}
}
