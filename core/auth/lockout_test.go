package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth/totp"
	"github.com/warden-sec/warden/core/store"
)

const wrongPW = "wrong password that is long enough"

// countActions counts audit entries with action and outcome ("" for any).
func (f *fixture) countActions(action, outcome string) int {
	f.t.Helper()
	res, err := f.log.Search(context.Background(), auditlog.Query{Action: action, Limit: 10000})
	if err != nil {
		f.t.Fatal(err)
	}
	n := 0
	for _, e := range res {
		if outcome == "" || e.Outcome == outcome {
			n++
		}
	}
	return n
}

// Guessing one account's password from an address shared by everyone on
// it (loopback, NAT, a proxy) blocks that account from that address, and
// nothing else: not another account, not a token, not a refresh.
func TestPasswordFailuresLockOnlyTheirAccount(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.user("alice", RoleOperator)
	f.user("mallory", RoleViewer)
	const ip = "127.0.0.1"
	alice, err := f.login(LoginRequest{Username: "alice", ClientIP: ip})
	if err != nil {
		t.Fatal(err)
	}
	gt, _, err := f.svc.CreateToken(ctx, root, "agent", RoleAgent, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := f.login(LoginRequest{Username: "mallory", Password: wrongPW, ClientIP: ip}); !errors.Is(err, ErrInvalidCredentials) && !isRateLimited(err) {
			t.Fatalf("bad login %d: %v", i+1, err)
		}
	}
	var rl *RateLimitedError
	if _, err := f.login(LoginRequest{Username: "mallory", ClientIP: ip}); !errors.As(err, &rl) || RetryAfterSeconds(rl.RetryAfter) != 300 {
		t.Fatalf("attacked account from the attacking address: %v", err)
	}
	// Another account on the same address.
	if _, err := f.login(LoginRequest{Username: "alice", ClientIP: ip}); err != nil {
		t.Fatalf("alice locked out by mallory's failures: %v", err)
	}
	// The attacked account from another address (the per-account limit,
	// 100 an hour, is far from spent).
	if _, err := f.login(LoginRequest{Username: "mallory", ClientIP: "192.0.2.99"}); err != nil {
		t.Fatalf("mallory from elsewhere: %v", err)
	}
	// Bearer credentials never count password failures.
	if _, err := f.svc.AuthenticateToken(ctx, gt, ip); err != nil {
		t.Fatalf("gateway token refused: %v", err)
	}
	if _, err := f.svc.Refresh(ctx, alice.RefreshToken, ip); err != nil {
		t.Fatalf("refresh refused: %v", err)
	}
	// Re-authentication of another account on the address is not blocked.
	if _, err := f.svc.BeginTOTP(ctx, "alice", alicePW, ip); err != nil {
		t.Fatalf("alice's 2FA enrolment: %v", err)
	}
	if f.countActions("login.rate_limited", "") != 1 {
		t.Fatalf("%d rate-limit entries, want 1", f.countActions("login.rate_limited", ""))
	}
}

// Every failure of a second factor or a password re-check counts under
// (address, account) and the account, like a failed password: together they
// spend one budget.
func TestSecondFactorAndPasswordChangeFailuresShareTheBudget(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.user("alice", RoleOperator)
	f.user("bob", RoleOperator)
	secret, _ := enroll(t, f, "alice")
	const ip = "192.0.2.50"
	wrongCode := totp.Code(secret, totp.Step(f.now)+5)
	f.login(LoginRequest{Username: "alice", TOTP: wrongCode, ClientIP: ip})                     // 1: wrong TOTP
	f.login(LoginRequest{Username: "alice", RecoveryCode: "AAAA-BBBB-CCCC-DDDD", ClientIP: ip}) // 2: wrong recovery code
	f.svc.ResetPassword(ctx, Local("alice"), "alice", wrongPW, newPW, ip)                       // 3: wrong current password
	f.svc.RegenerateRecoveryCodes(ctx, "alice", wrongPW, ip)                                    // 4: wrong password re-check
	f.login(LoginRequest{Username: "alice", Password: wrongPW, ClientIP: ip})                   // 5
	if _, err := f.login(LoginRequest{Username: "alice", TOTP: totp.Code(secret, totp.Step(f.now)), ClientIP: ip}); !isRateLimited(err) {
		t.Fatalf("sixth attempt: %v", err)
	}
	if err := f.svc.ResetPassword(ctx, Local("alice"), "alice", alicePW, newPW, ip); !isRateLimited(err) {
		t.Fatalf("password change during the block: %v", err)
	}
	// Bob on the same address is untouched, including his 2FA enrolment.
	en, err := f.svc.BeginTOTP(ctx, "bob", alicePW, ip)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		f.svc.ConfirmTOTP(ctx, "bob", "000000", "", ip)
	}
	bobSecret, _ := totp.DecodeSecret(en.Secret)
	if _, err := f.svc.ConfirmTOTP(ctx, "bob", totp.Code(bobSecret, totp.Step(f.now)), "", ip); !isRateLimited(err) && totp.Code(bobSecret, totp.Step(f.now)) != "000000" {
		t.Fatalf("2FA confirmation not limited: %v", err)
	}
	if _, err := f.login(LoginRequest{Username: "bob", ClientIP: "192.0.2.51"}); err != nil {
		t.Fatalf("bob from another address: %v", err)
	}
}

// A success resets the counter of its (address, account) and of the
// account, but not another account's on the same address: logging into
// one's own account buys no guesses at someone else's.
func TestSuccessResetsOnlyItsOwnCounters(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleViewer)
	f.user("eve", RoleViewer)
	const ip = "192.0.2.60"
	for range 4 {
		f.login(LoginRequest{Username: "alice", Password: wrongPW, ClientIP: ip})
		f.login(LoginRequest{Username: "eve", Password: wrongPW, ClientIP: ip})
	}
	if _, err := f.login(LoginRequest{Username: "eve", ClientIP: ip}); err != nil {
		t.Fatal(err)
	}
	f.login(LoginRequest{Username: "alice", Password: wrongPW, ClientIP: ip})
	if _, err := f.login(LoginRequest{Username: "alice", ClientIP: ip}); !isRateLimited(err) {
		t.Fatalf("eve's success reset alice's counter: %v", err)
	}
	for range 4 {
		f.login(LoginRequest{Username: "eve", Password: wrongPW, ClientIP: ip})
	}
	if _, err := f.login(LoginRequest{Username: "eve", ClientIP: ip}); err != nil {
		t.Fatalf("eve's success did not reset her counter: %v", err)
	}
}

// Usernames are attacker-chosen: a huge one is keyed by its hash.
func TestHugeAccountNamesAreKeyedByHash(t *testing.T) {
	long := strings.Repeat("x", 10000)
	if k := acctKey(long); len(k) > 64 || !strings.HasPrefix(k, "acct#") {
		t.Fatalf("key %q", k[:min(len(k), 80)])
	}
	if acctKey(long) == acctKey(long+"y") || acctKey("Alice") != acctKey("alice") {
		t.Fatal("keys collide or ignore case wrongly")
	}
}

// Failed gateway tokens never refuse a valid one. A token naming a real id
// counts under that id, anything else under the address; once spent,
// failures get RateLimitedError with one audit entry per blocking period.
func TestTokenFailuresNeverBlockAValidToken(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.SharedToken = "Qm9vdHN0cmFwVG9rZW4tNWY3YzJhOWUxYjM4ZDQ2MA" })
	ctx := context.Background()
	f.user("alice", RoleViewer)
	tok, info, err := f.svc.CreateToken(ctx, root, "agent", RoleAgent, 0)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := f.svc.CreateToken(ctx, root, "other", RoleViewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	const ip = "127.0.0.1"
	wrongSecret := "wgt_" + info.ID + "_" + strings.Repeat("A", 43)
	for i := range 5 {
		if _, err := f.svc.AuthenticateToken(ctx, wrongSecret, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("wrong secret %d: %v", i+1, err)
		}
	}
	// The id is spent, from any address: the sixth wrong secret waits.
	if _, err := f.svc.AuthenticateToken(ctx, wrongSecret, "198.51.100.1"); !isRateLimited(err) {
		t.Fatalf("sixth wrong secret: %v", err)
	}
	// The real token still works, from the attacker's address too.
	for _, from := range []string{"192.0.2.1", ip} {
		if p, err := f.svc.AuthenticateToken(ctx, tok, from); err != nil || p.Name != "agent" {
			t.Fatalf("valid token from %s: %+v %v", from, p, err)
		}
	}
	// Garbage and made-up ids count under the address; the address's
	// valid tokens, the config's shared token and its logins pass.
	for i := range 5 {
		bad := []string{"garbage", "wgt_short", fmt.Sprintf("wgt_%016x_%s", i, strings.Repeat("B", 43))}[i%3]
		if _, err := f.svc.AuthenticateToken(ctx, bad, ip); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("garbage %d: %v", i+1, err)
		}
	}
	if _, err := f.svc.AuthenticateToken(ctx, "wgt_ffffffffffffffff_"+strings.Repeat("C", 43), ip); !isRateLimited(err) {
		t.Fatalf("fresh made-up id after the address's budget: %v", err)
	}
	if _, err := f.svc.AuthenticateToken(ctx, "garbage", ip); !isRateLimited(err) {
		t.Fatalf("garbage after the budget: %v", err)
	}
	for _, good := range []string{tok, other, f.opts.SharedToken} {
		if _, err := f.svc.AuthenticateToken(ctx, good, ip); err != nil {
			t.Fatalf("valid token refused: %v", err)
		}
	}
	if _, err := f.login(LoginRequest{Username: "alice", ClientIP: ip}); err != nil {
		t.Fatalf("login refused for token failures: %v", err)
	}
	// One audit entry per blocked key and blocking period, not per attempt.
	failures := f.countActions("token.auth", auditlog.OutcomeFailure)
	for range 20 {
		f.svc.AuthenticateToken(ctx, "garbage", ip)
		f.svc.AuthenticateToken(ctx, wrongSecret, ip)
	}
	if n := f.countActions("token.auth", auditlog.OutcomeFailure); n != failures || failures != 10 {
		t.Fatalf("token failures audited %d then %d times, want 10 both", failures, n)
	}
	if n := f.countActions("token.auth.rate_limited", ""); n != 2 {
		t.Fatalf("%d rate-limit entries, want 2 (the id and the address)", n)
	}
	// After the window the id may fail again, and is counted again.
	f.now = f.now.Add(5*time.Minute + time.Second)
	if _, err := f.svc.AuthenticateToken(ctx, wrongSecret, ip); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("after the window: %v", err)
	}
}

// While a token id is out of attempts its row comes from memory (read at
// most once a second), so a flood costs no database reads; a valid token
// is still recognised from it. The row deleted behind the Service's back
// shows that nothing was read: the cached row answers, for at most a
// second, and then the database does.
func TestBlockedTokenAnsweredFromMemory(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tok, info, err := f.svc.CreateToken(ctx, root, "agent", RoleAgent, 0)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "wgt_" + info.ID + "_" + strings.Repeat("A", 43)
	for range 5 {
		f.svc.AuthenticateToken(ctx, wrong, "192.0.2.1")
	}
	if err := f.db.Write(ctx, func(ctx context.Context, tx store.Queryer) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM gateway_tokens WHERE id = ?`, info.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AuthenticateToken(ctx, wrong, "192.0.2.1"); !isRateLimited(err) {
		t.Fatalf("blocked failure: %v", err)
	}
	if _, err := f.svc.AuthenticateToken(ctx, tok, "192.0.2.1"); err != nil {
		t.Fatalf("valid token not recognised from memory: %v", err)
	}
	f.now = f.now.Add(time.Second)
	if _, err := f.svc.AuthenticateToken(ctx, tok, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("a deleted token passed after the cache's second: %v", err)
	}
}

// Refresh tokens: failures count under the address; once spent, unknown
// tokens are refused without a write or an audit entry each, while a
// current token still refreshes and a used one still revokes its session.
func TestRefreshFailuresNeverBlockAValidOne(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.user("alice", RoleViewer)
	const ip = "127.0.0.1"
	a, _ := f.login(LoginRequest{Username: "alice", ClientIP: ip})
	b, _ := f.login(LoginRequest{Username: "alice", ClientIP: ip, DeviceID: "phone"})
	bNext, err := f.svc.Refresh(ctx, b.RefreshToken, ip)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := f.svc.Refresh(ctx, fmt.Sprintf("wrt_made_up_%d", i), ip); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("bad refresh %d: %v", i+1, err)
		}
	}
	for range 5 {
		if _, err := f.svc.Refresh(ctx, "wrt_made_up_again", ip); !isRateLimited(err) {
			t.Fatalf("bad refresh after the budget: %v", err)
		}
	}
	if n := f.countActions("refresh", auditlog.OutcomeFailure); n != 5 {
		t.Fatalf("%d refresh failures audited, want 5", n)
	}
	if _, err := f.svc.Refresh(ctx, a.RefreshToken, ip); err != nil {
		t.Fatalf("valid refresh refused: %v", err)
	}
	// Reuse is still detected (and the session ends) during the block.
	if _, err := f.svc.Refresh(ctx, b.RefreshToken, ip); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("reused refresh token: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, bNext.AccessToken); err == nil {
		t.Fatal("reuse during a block did not revoke the session")
	}
	if _, err := f.login(LoginRequest{Username: "alice", ClientIP: ip}); err != nil {
		t.Fatalf("login refused for refresh failures: %v", err)
	}
}

// Setup-code failures count per address, apart from everything else.
func TestSetupFailuresStayWithSetup(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, _, err := f.svc.IssueSetupCode(ctx); err != nil {
		t.Fatal(err)
	}
	const ip = "192.0.2.70"
	for range 5 {
		f.svc.CompleteSetup(ctx, "AAAAA-AAAAA-AAAAA-AAAAA", "owner", alicePW, ip)
	}
	if _, err := f.svc.CompleteSetup(ctx, "AAAAA-AAAAA-AAAAA-AAAAA", "owner", alicePW, ip); !isRateLimited(err) {
		t.Fatalf("sixth setup attempt: %v", err)
	}
	if _, err := f.svc.CompleteSetup(ctx, "AAAAA-AAAAA-AAAAA-AAAAA", "owner", alicePW, "192.0.2.71"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("another address: %v", err)
	}
	f.user("alice", RoleViewer)
	if _, err := f.login(LoginRequest{Username: "alice", ClientIP: ip}); err != nil {
		t.Fatalf("login refused for setup failures: %v", err)
	}
}

// Turning two-factor on ends the user's other sessions (they were opened
// with the password alone) and keeps the caller's; the audit log says so
// before it happens. From the command line (no session) all of them end.
func TestEnablingTwoFactorEndsOtherSessions(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.user("alice", RoleOperator)
	f.user("bob", RoleOperator)
	a, _ := f.login(LoginRequest{Username: "alice", DeviceID: "laptop"})
	b, _ := f.login(LoginRequest{Username: "alice", DeviceID: "phone"})
	c, _ := f.login(LoginRequest{Username: "alice", DeviceID: "tablet"})
	bob, _ := f.login(LoginRequest{Username: "bob"})
	en, err := f.svc.BeginTOTP(ctx, "alice", alicePW, "192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := totp.DecodeSecret(en.Secret)
	if _, err := f.svc.ConfirmTOTP(ctx, "alice", totp.Code(secret, totp.Step(f.now)), a.Session.ID, "192.0.2.10"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, a.AccessToken); err != nil {
		t.Fatalf("the caller's own session ended: %v", err)
	}
	for _, other := range []*Tokens{b, c} {
		if _, err := f.svc.Authenticate(ctx, other.AccessToken); err == nil {
			t.Fatalf("session %s survived 2FA enrolment", other.Session.ID)
		}
		if _, err := f.svc.Refresh(ctx, other.RefreshToken, "192.0.2.10"); err == nil {
			t.Fatalf("refresh token of %s survived 2FA enrolment", other.Session.ID)
		}
	}
	if _, err := f.svc.Authenticate(ctx, bob.AccessToken); err != nil {
		t.Fatalf("another user's session ended: %v", err)
	}
	ended, _ := f.svc.ListSessions(ctx, SessionFilter{User: "alice", IncludeEnded: true})
	for _, s := range ended {
		if s.ID != a.Session.ID && s.Reason != revokeReason2FA {
			t.Fatalf("session %s: reason %q", s.ID, s.Reason)
		}
	}
	res, err := f.log.Search(ctx, auditlog.Query{Action: "session.revoke_all"})
	if err != nil || len(res) != 1 {
		t.Fatalf("%d session.revoke_all entries, %v", len(res), err)
	}
	d := string(res[0].Details)
	if res[0].Target != "alice" || !strings.Contains(d, `"count":2`) || !strings.Contains(d, revokeReason2FA) || !strings.Contains(d, a.Session.ID) {
		t.Fatalf("entry %s %s", res[0].Target, d)
	}
	// The command line's confirmation has no session of its own: all end.
	if err := f.svc.DisableTOTP(ctx, root, "alice", ""); err != nil {
		t.Fatal(err)
	}
	d2, _ := f.login(LoginRequest{Username: "alice", DeviceID: "desk"})
	en, err = f.svc.BeginTOTP(ctx, "alice", alicePW, "local")
	if err != nil {
		t.Fatal(err)
	}
	secret, _ = totp.DecodeSecret(en.Secret)
	f.now = f.now.Add(time.Minute)
	if _, err := f.svc.ConfirmTOTP(ctx, "alice", totp.Code(secret, totp.Step(f.now)), "", "local"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Tokens{a, d2} {
		if _, err := f.svc.Authenticate(ctx, s.AccessToken); err == nil {
			t.Fatalf("session %s survived a command-line 2FA enrolment", s.Session.ID)
		}
	}
}
