package auth

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth/totp"
	"github.com/warden-sec/warden/core/events"
)

// sessionReason returns the revoke reason of session sid ("" while live).
func (f *fixture) sessionReason(sid string) string {
	f.t.Helper()
	list, err := f.svc.ListSessions(context.Background(), SessionFilter{IncludeEnded: true})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range list {
		if s.ID == sid {
			return s.Reason
		}
	}
	f.t.Fatalf("no session %s", sid)
	return ""
}

// A remembered session is not ended by the idle timeout: it lasts its 30
// days while used, and ends after gateway.auth.remember_me_idle_timeout
// without use. An ordinary session still ends after the idle timeout.
func TestRememberMeOutlivesIdleTimeout(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.IdleTimeout = 30 * time.Minute
		o.RememberIdleTimeout = 7 * 24 * time.Hour
	})
	f.user("alice", RoleViewer)
	ctx := context.Background()
	remembered, err := f.login(LoginRequest{Username: "alice", RememberMe: true})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := f.login(LoginRequest{Username: "alice", DeviceID: "phone", UserAgent: "test-agent"})
	if err != nil {
		t.Fatal(err)
	}

	// Two idle hours: the ordinary session is over, the remembered one is not.
	f.now = f.now.Add(2 * time.Hour)
	if live, err := f.svc.SessionLive(ctx, remembered.Session.ID); err != nil || !live {
		t.Fatalf("remembered session after 2 idle hours: live %v, %v", live, err)
	}
	if live, _ := f.svc.SessionLive(ctx, plain.Session.ID); live {
		t.Fatal("ordinary session live after 2 idle hours")
	}
	if _, err := f.svc.Refresh(ctx, plain.RefreshToken, "192.0.2.10"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("ordinary session refreshed after 2 idle hours: %v", err)
	}
	if r := f.sessionReason(plain.Session.ID); r != "idle timeout" {
		t.Fatalf("ordinary session: %q", r)
	}
	next, err := f.svc.Refresh(ctx, remembered.RefreshToken, "192.0.2.10")
	if err != nil {
		t.Fatalf("remembered session refused after 2 idle hours: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, next.AccessToken); err != nil {
		t.Fatalf("remembered session's new access token: %v", err)
	}

	// Used every few days, it lasts until its lifetime ends.
	end := remembered.Session.Expires
	for f.now.Add(6 * 24 * time.Hour).Before(end) {
		f.now = f.now.Add(6 * 24 * time.Hour)
		if next, err = f.svc.Refresh(ctx, next.RefreshToken, "192.0.2.10"); err != nil {
			t.Fatalf("remembered session in use refused at %v: %v", f.now, err)
		}
	}
	f.now = end
	if _, err := f.svc.Refresh(ctx, next.RefreshToken, "192.0.2.10"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("remembered session outlived its lifetime: %v", err)
	}

	// Unused for longer than the remember-me idle timeout, it ends.
	f.now = f.now.Add(time.Hour)
	again, err := f.login(LoginRequest{Username: "alice", RememberMe: true})
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(7*24*time.Hour - time.Minute)
	if live, _ := f.svc.SessionLive(ctx, again.Session.ID); !live {
		t.Fatal("remembered session ended before its idle timeout")
	}
	f.now = f.now.Add(2 * time.Minute)
	if live, _ := f.svc.SessionLive(ctx, again.Session.ID); live {
		t.Fatal("remembered session live after 7 idle days")
	}
	if _, err := f.svc.Refresh(ctx, again.RefreshToken, "192.0.2.10"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("remembered session refreshed after 7 idle days: %v", err)
	}
	if r := f.sessionReason(again.Session.ID); r != "idle timeout" {
		t.Fatalf("remembered session: %q", r)
	}
}

// Authenticate applies the same rule: a remembered session whose idle
// limit is shorter than an access token's life ends on its first use after
// it, an ordinary one on the idle timeout, each by its own limit.
func TestAuthenticateIdleRuleByKind(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.IdleTimeout = 2 * time.Minute
		o.RememberIdleTimeout = 5 * time.Minute
	})
	f.user("alice", RoleViewer)
	ctx := context.Background()
	remembered, _ := f.login(LoginRequest{Username: "alice", RememberMe: true})
	plain, _ := f.login(LoginRequest{Username: "alice", DeviceID: "phone", UserAgent: "test-agent"})
	f.now = f.now.Add(3 * time.Minute)
	if _, err := f.svc.Authenticate(ctx, plain.AccessToken); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("ordinary session after 3 idle minutes: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, remembered.AccessToken); err != nil {
		t.Fatalf("remembered session after 3 idle minutes: %v", err)
	}
	// That use counts: 4 more minutes are within 5 of it.
	f.now = f.now.Add(4 * time.Minute)
	if _, err := f.svc.Authenticate(ctx, remembered.AccessToken); err != nil {
		t.Fatalf("remembered session 4 minutes after its last use: %v", err)
	}
	f.now = f.now.Add(6 * time.Minute)
	if _, err := f.svc.Authenticate(ctx, remembered.AccessToken); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("remembered session 6 minutes after its last use: %v", err)
	}
}

// Without a remember-me idle timeout, a remembered session has no idle
// limit at all: only its lifetime ends it.
func TestRememberMeWithoutIdleLimit(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.IdleTimeout = 30 * time.Minute })
	f.user("alice", RoleViewer)
	tok, _ := f.login(LoginRequest{Username: "alice", RememberMe: true})
	f.now = f.now.Add(29 * 24 * time.Hour)
	if _, err := f.svc.Refresh(context.Background(), tok.RefreshToken, "192.0.2.10"); err != nil {
		t.Fatalf("remembered session after 29 idle days: %v", err)
	}
}

// auditTail returns the entries appended after seq.
func (f *fixture) auditTail(after uint64) []auditlog.Entry {
	f.t.Helper()
	var out []auditlog.Entry
	if err := f.log.Each(context.Background(), after+1, time.Time{}, func(e auditlog.Entry) error {
		if e.Action != auditlog.ActionSeal {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) auditHead() uint64 {
	f.t.Helper()
	h, err := f.log.Head(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return h.Seq
}

// The password step of a two-factor login is recorded as what it is, a
// step waiting for the second factor, not as a denied login. The login
// that follows records its success; a wrong second factor its failure.
func TestSecondFactorStepIsRecordedAsPending(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleOperator)
	secret, _ := enroll(t, f, "alice")
	f.now = f.now.Add(2 * time.Minute)

	mark := f.auditHead()
	if _, err := f.login(LoginRequest{Username: "alice"}); !errors.Is(err, ErrSecondFactorRequired) {
		t.Fatalf("no code: %v", err)
	}
	got := f.auditTail(mark)
	if len(got) != 1 {
		t.Fatalf("the password step wrote %d entries: %+v", len(got), got)
	}
	e := got[0]
	if e.Action != "login.second_factor" || e.Outcome != events.OutcomePending || e.Target != "alice" || e.Actor != "anonymous" || e.SourceIP != "192.0.2.10" {
		t.Fatalf("password step recorded as %s %s %s by %s from %s", e.Action, e.Outcome, e.Target, e.Actor, e.SourceIP)
	}
	var d map[string]any
	if err := json.Unmarshal(e.Details, &d); err != nil || d["verified"] != "password" || d["device"] != "laptop" {
		t.Fatalf("details %s", e.Details)
	}
	if _, ok := events.Lookup(e.Action); !ok {
		t.Fatalf("%s is not in the catalogue", e.Action)
	}

	// A wrong code is still a failed login.
	mark = f.auditHead()
	wrong := "000000"
	if totp.Code(secret, totp.Step(f.now)) == wrong {
		wrong = "111111"
	}
	if _, err := f.login(LoginRequest{Username: "alice", TOTP: wrong}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong code: %v", err)
	}
	if got := f.auditTail(mark); len(got) != 1 || got[0].Action != "login" || got[0].Outcome != auditlog.OutcomeFailure {
		t.Fatalf("wrong code recorded as %+v", got)
	}

	// The right one is a successful login, and only that.
	mark = f.auditHead()
	if _, err := f.login(LoginRequest{Username: "alice", TOTP: totp.Code(secret, totp.Step(f.now))}); err != nil {
		t.Fatal(err)
	}
	if got := f.auditTail(mark); len(got) != 1 || got[0].Action != "login" || got[0].Outcome != auditlog.OutcomeSuccess || got[0].Actor != "user:alice" {
		t.Fatalf("login recorded as %+v", got)
	}

	// Nothing of it reads as a denial.
	if err := f.log.Each(context.Background(), 0, time.Time{}, func(e auditlog.Entry) error {
		if e.Outcome == auditlog.OutcomeDenied {
			t.Errorf("entry %d: %s %s", e.Seq, e.Action, e.Outcome)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
