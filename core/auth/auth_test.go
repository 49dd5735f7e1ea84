package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth/password"
	"github.com/warden-sec/warden/core/auth/ratelimit"
	"github.com/warden-sec/warden/core/auth/totp"
	"github.com/warden-sec/warden/core/store"
)

const (
	alicePW = "correct horse battery staple and then some"
	newPW   = "another long passphrase nobody will guess 42"
)

type fixture struct {
	t    testing.TB
	dir  string
	db   *store.Store
	log  *auditlog.Log
	svc  *Service
	now  time.Time
	key  []byte
	opts Options
}

func lowParams() password.Params {
	return password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func newFixture(t testing.TB, mod func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(f.dir, "warden.db")})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	l, err := auditlog.Open(context.Background(), db, key, auditlog.Options{Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.db, f.log = db, l
	t.Cleanup(func() { l.Close(); db.Close() })
	access, totpKey := make([]byte, 32), make([]byte, 32)
	rand.Read(access)
	rand.Read(totpKey)
	f.key = access
	f.opts = Options{DB: db, Audit: l, AccessKey: access, TOTPKey: totpKey, Hasher: password.NewHasher(lowParams(), 4),
		Policy: password.Policy{MinLength: 32, MaxLength: 1024}, RateLimit: true,
		IPLimit: ratelimit.Rule{Attempts: 5, Window: 5 * time.Minute}, AccountLimit: ratelimit.Rule{Attempts: 100, Window: time.Hour},
		Now: func() time.Time { return f.now }}
	if mod != nil {
		mod(&f.opts)
	}
	svc, err := New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

var root = Local("root")

func (f *fixture) user(name string, role Role) {
	f.t.Helper()
	if _, err := f.svc.CreateUser(context.Background(), root, name, role, alicePW); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) login(req LoginRequest) (*Tokens, error) {
	if req.Password == "" {
		req.Password = alicePW
	}
	if req.ClientIP == "" {
		req.ClientIP = "192.0.2.10"
	}
	if req.DeviceID == "" {
		req.DeviceID = "laptop"
		req.UserAgent = "test-agent"
	}
	return f.svc.Login(context.Background(), req)
}

func TestLoginAndAuthenticate(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleOperator)
	tok, err := f.login(LoginRequest{Username: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Authenticate(context.Background(), tok.AccessToken)
	if err != nil || p.Name != "alice" || p.Role != RoleOperator || p.SessionID != tok.Session.ID {
		t.Fatalf("%+v %v", p, err)
	}
	if !tok.AccessExpires.Equal(f.now.Add(15*time.Minute)) || !tok.Session.Expires.Equal(f.now.Add(24*time.Hour)) {
		t.Fatalf("lifetimes %v %v", tok.AccessExpires, tok.Session.Expires)
	}
	rm, _ := f.login(LoginRequest{Username: "alice", RememberMe: true})
	if !rm.Session.Expires.Equal(f.now.Add(30 * 24 * time.Hour)) {
		t.Fatalf("remember me: %v", rm.Session.Expires)
	}
	// Access tokens expire.
	f.now = f.now.Add(16 * time.Minute)
	if _, err := f.svc.Authenticate(context.Background(), tok.AccessToken); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("expired token accepted: %v", err)
	}
}

func TestLoginFailuresAreGeneric(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleViewer)
	for _, req := range []LoginRequest{{Username: "alice", Password: "wrong password that is long enough"}, {Username: "bob"}} {
		if _, err := f.login(req); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("%+v: %v", req.Username, err)
		}
	}
	f.svc.DisableUser(context.Background(), root, "alice")
	if _, err := f.login(LoginRequest{Username: "alice", ClientIP: "192.0.2.99"}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("disabled user: %v", err)
	}
}

// An unknown user, a disabled user and a wrong password all cost one
// argon2id derivation with the configured parameters, so response time does
// not tell them apart (BenchmarkLoginWrongPassword / BenchmarkLoginUnknownUser
// show the wall-clock side).
func TestUnknownUserCostsAsMuchAsWrongPassword(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RateLimit = false })
	f.user("alice", RoleViewer)
	f.user("carol", RoleViewer)
	f.svc.DisableUser(context.Background(), root, "carol")
	for _, name := range []string{"alice", "nobody", "carol"} {
		before := f.opts.Hasher.Derivations()
		if _, err := f.login(LoginRequest{Username: name, Password: "wrong password that is long enough!"}); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("%s: %v", name, err)
		}
		if got := f.opts.Hasher.Derivations() - before; got != 1 {
			t.Errorf("login as %s ran %d derivations; want 1", name, got)
		}
	}
}

func signWith(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAccessTokenAttacks(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleAdmin)
	tok, _ := f.login(LoginRequest{Username: "alice"})
	good, _ := f.svc.signer.parse(tok.AccessToken)
	claims := func(mod func(*accessClaims)) *accessClaims {
		c := *good
		c.RegisteredClaims.Audience = append(jwt.ClaimStrings(nil), good.Audience...)
		mod(&c)
		return &c
	}
	attacks := map[string]string{
		"alg none":                signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good, nil),
		"alg switched to HS512":   signWith(t, jwt.SigningMethodHS512, f.key, good, nil),
		"other key":               signWith(t, jwt.SigningMethodHS256, []byte("an attacker's key of 32 bytes!!!"), good, nil),
		"no exp":                  signWith(t, jwt.SigningMethodHS256, f.key, claims(func(c *accessClaims) { c.ExpiresAt = nil }), nil),
		"wrong audience":          signWith(t, jwt.SigningMethodHS256, f.key, claims(func(c *accessClaims) { c.Audience = jwt.ClaimStrings{"other"} }), nil),
		"wrong issuer":            signWith(t, jwt.SigningMethodHS256, f.key, claims(func(c *accessClaims) { c.Issuer = "evil" }), nil),
		"not an access token":     signWith(t, jwt.SigningMethodHS256, f.key, claims(func(c *accessClaims) { c.Type = "refresh" }), nil),
		"refresh token as access": tok.RefreshToken,
		"tampered payload":        tamper(tok.AccessToken),
		"jwk header with own key": signWith(t, jwt.SigningMethodHS256, []byte("attacker-chosen-key-material-xx!"), good,
			map[string]any{"jwk": map[string]any{"kty": "oct", "k": "YXR0YWNrZXItY2hvc2VuLWtleS1tYXRlcmlhbC14eCE"}, "jku": "https://evil.example/keys", "x5u": "https://evil.example/cert"}),
		"empty": "",
	}
	for name, a := range attacks {
		if _, err := f.svc.Authenticate(context.Background(), a); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	// The jku/x5u/jwk headers are ignored: a token signed with the real key
	// is fine whatever they say.
	withHeaders := signWith(t, jwt.SigningMethodHS256, f.key, good, map[string]any{"jku": "https://evil.example/keys", "kid": "../../etc/passwd"})
	if _, err := f.svc.Authenticate(context.Background(), withHeaders); err != nil {
		t.Fatalf("headers changed verification: %v", err)
	}
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	b := []byte(parts[1])
	b[len(b)/2] ^= 1
	parts[1] = string(b)
	return strings.Join(parts, ".")
}

func TestRevocationIsImmediate(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleOperator)
	tok, _ := f.login(LoginRequest{Username: "alice"})
	if _, err := f.svc.Authenticate(context.Background(), tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RevokeSession(context.Background(), root, tok.Session.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(context.Background(), tok.AccessToken); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked session still works: %v", err)
	}
	if _, err := f.svc.Refresh(context.Background(), tok.RefreshToken, "192.0.2.10"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("refresh of a revoked session: %v", err)
	}
}

func TestRevocationByAnotherProcess(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleOperator)
	tok, _ := f.login(LoginRequest{Username: "alice"})
	f.svc.Authenticate(context.Background(), tok.AccessToken) // cached
	// Another process (the CLI) revokes through its own Service.
	other, err := New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.RevokeSession(context.Background(), root, tok.Session.ID, ""); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(1100 * time.Millisecond)
	if _, err := f.svc.Authenticate(context.Background(), tok.AccessToken); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revocation not seen within a second: %v", err)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleOperator)
	tok, _ := f.login(LoginRequest{Username: "alice"})
	next, err := f.svc.Refresh(context.Background(), tok.RefreshToken, "192.0.2.10")
	if err != nil || next.RefreshToken == tok.RefreshToken || next.Session.ID != tok.Session.ID {
		t.Fatalf("%+v %v", next, err)
	}
	// The old refresh token presented again: the whole session goes.
	if _, err := f.svc.Refresh(context.Background(), tok.RefreshToken, "198.51.100.7"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("reuse accepted: %v", err)
	}
	if _, err := f.svc.Authenticate(context.Background(), next.AccessToken); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("session survived refresh token reuse")
	}
	if _, err := f.svc.Refresh(context.Background(), next.RefreshToken, "192.0.2.10"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal("the family's newest refresh token still works")
	}
	res, _ := f.log.Search(context.Background(), auditlog.Query{Action: "refresh_token_reuse"})
	if len(res) != 1 || res[0].Target != tok.Session.ID {
		t.Fatalf("reuse not audited: %+v", res)
	}
}

func TestSessionsPerDevice(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleViewer)
	var first *Tokens
	for i := 0; i < 10; i++ {
		tok, err := f.login(LoginRequest{Username: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = tok
		}
		f.now = f.now.Add(time.Second)
	}
	tok, _ := f.login(LoginRequest{Username: "alice"})
	if len(tok.Evicted) != 1 || tok.Evicted[0] != first.Session.ID {
		t.Fatalf("evicted %v, want the oldest %s", tok.Evicted, first.Session.ID)
	}
	if _, err := f.svc.Authenticate(context.Background(), first.AccessToken); err == nil {
		t.Fatal("evicted session still works")
	}
	live, _ := f.svc.ListSessions(context.Background(), SessionFilter{User: "alice"})
	if len(live) != 10 {
		t.Fatalf("%d live sessions", len(live))
	}
	// Another device has its own allowance.
	other, _ := f.login(LoginRequest{Username: "alice", DeviceID: "phone", UserAgent: "x"})
	if len(other.Evicted) != 0 {
		t.Fatal("another device evicted sessions")
	}
}

func TestPasswordResetRevokesEverything(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleViewer)
	tok, _ := f.login(LoginRequest{Username: "alice"})
	ctx := context.Background()
	if err := f.svc.ResetPassword(ctx, Local("alice"), "alice", "wrong current password long enough", newPW, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong current: %v", err)
	}
	if err := f.svc.ResetPassword(ctx, Local("alice"), "alice", alicePW, alicePW, "192.0.2.1"); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("same password: %v", err)
	}
	if err := f.svc.ResetPassword(ctx, Local("alice"), "alice", alicePW, "short", "192.0.2.1"); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("short password: %v", err)
	}
	if err := f.svc.ResetPassword(ctx, Local("alice"), "alice", alicePW, newPW, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, tok.AccessToken); err == nil {
		t.Fatal("access token survived the reset")
	}
	if _, err := f.svc.Refresh(ctx, tok.RefreshToken, "192.0.2.1"); err == nil {
		t.Fatal("refresh token survived the reset")
	}
	if _, err := f.login(LoginRequest{Username: "alice"}); err == nil {
		t.Fatal("old password still works")
	}
	if _, err := f.login(LoginRequest{Username: "alice", Password: newPW}); err != nil {
		t.Fatal(err)
	}
}

func enroll(t *testing.T, f *fixture, name string) ([]byte, []string) {
	t.Helper()
	ctx := context.Background()
	en, err := f.svc.BeginTOTP(ctx, name, alicePW, "192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(en.PNG, []byte("\x89PNG")) || !strings.HasPrefix(en.URI, "otpauth://totp/") || en.Terminal == "" {
		t.Fatalf("enrollment %+v", en.URI)
	}
	secret, err := totp.DecodeSecret(en.Secret)
	if err != nil {
		t.Fatal(err)
	}
	// Not on until confirmed.
	if _, err := f.login(LoginRequest{Username: name}); err != nil {
		t.Fatalf("2FA active before confirmation: %v", err)
	}
	if _, err := f.svc.ConfirmTOTP(ctx, name, "000000", "", "192.0.2.10"); !errors.Is(err, ErrInvalidCredentials) && totp.Code(secret, totp.Step(f.now)) != "000000" {
		t.Fatalf("wrong confirmation code: %v", err)
	}
	codes, err := f.svc.ConfirmTOTP(ctx, name, totp.Code(secret, totp.Step(f.now)), "", "192.0.2.10")
	if err != nil || len(codes) != 10 {
		t.Fatalf("%v %v", codes, err)
	}
	return secret, codes
}

func TestTOTPLogin(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RateLimit = false }) // many failures on purpose
	f.user("alice", RoleOperator)
	secret, codes := enroll(t, f, "alice")
	f.now = f.now.Add(2 * time.Minute)
	if _, err := f.login(LoginRequest{Username: "alice"}); !errors.Is(err, ErrSecondFactorRequired) {
		t.Fatalf("no code: %v", err)
	}
	if _, err := f.login(LoginRequest{Username: "alice", Password: "wrong password that is long enough", TOTP: totp.Code(secret, totp.Step(f.now))}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal("a code without the password was accepted")
	}
	// ±1 step of skew.
	prev := totp.Code(secret, totp.Step(f.now)-1)
	if _, err := f.login(LoginRequest{Username: "alice", TOTP: prev}); err != nil {
		t.Fatalf("previous step: %v", err)
	}
	if _, err := f.login(LoginRequest{Username: "alice", TOTP: totp.Code(secret, totp.Step(f.now)-2)}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal("two steps back accepted")
	}
	// A used step is never accepted again.
	if _, err := f.login(LoginRequest{Username: "alice", TOTP: prev}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal("replayed code accepted")
	}
	// Recovery codes: once each, and only with the password.
	if _, err := f.login(LoginRequest{Username: "alice", Password: "wrong password that is long enough", RecoveryCode: codes[0]}); err == nil {
		t.Fatal("recovery code replaced the password")
	}
	if _, err := f.login(LoginRequest{Username: "alice", RecoveryCode: strings.ToLower(codes[0])}); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	if _, err := f.login(LoginRequest{Username: "alice", RecoveryCode: codes[0]}); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal("recovery code used twice")
	}
	// Regenerating replaces the codes.
	fresh, err := f.svc.RegenerateRecoveryCodes(context.Background(), "alice", alicePW, "192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.login(LoginRequest{Username: "alice", RecoveryCode: codes[1]}); err == nil {
		t.Fatal("old recovery code works after regeneration")
	}
	if _, err := f.login(LoginRequest{Username: "alice", RecoveryCode: fresh[0]}); err != nil {
		t.Fatal(err)
	}
	// A password reset keeps 2FA.
	if err := f.svc.ResetPassword(context.Background(), Local("alice"), "alice", alicePW, newPW, "192.0.2.10"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.login(LoginRequest{Username: "alice", Password: newPW}); !errors.Is(err, ErrSecondFactorRequired) {
		t.Fatalf("password reset bypassed 2FA: %v", err)
	}
	// Only an admin disables it.
	if err := f.svc.DisableTOTP(context.Background(), Principal{Kind: "user", Name: "alice", Role: RoleOperator}, "alice", ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("operator disabled 2FA: %v", err)
	}
	if err := f.svc.DisableTOTP(context.Background(), root, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.login(LoginRequest{Username: "alice", Password: newPW}); err != nil {
		t.Fatal(err)
	}
}

func TestTOTPCodeRacesOnlyOnce(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RateLimit = false })
	f.user("alice", RoleOperator)
	secret, _ := enroll(t, f, "alice")
	f.now = f.now.Add(5 * time.Minute)
	code := totp.Code(secret, totp.Step(f.now))
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := f.login(LoginRequest{Username: "alice", TOTP: code, ClientIP: fmt.Sprintf("192.0.2.%d", i+1)}); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d concurrent logins passed with one code", ok)
	}
}

func TestRecoveryCodeRacesOnlyOnce(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RateLimit = false })
	f.user("alice", RoleOperator)
	_, codes := enroll(t, f, "alice")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.login(LoginRequest{Username: "alice", RecoveryCode: codes[3]}); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d logins passed with one recovery code", ok)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleViewer)
	bad := LoginRequest{Username: "alice", Password: "wrong password that is long enough"}
	for i := 0; i < 5; i++ {
		if _, err := f.login(bad); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	_, err := f.login(LoginRequest{Username: "alice"}) // even the right password
	var rl *RateLimitedError
	if !errors.As(err, &rl) || RetryAfterSeconds(rl.RetryAfter) != 300 {
		t.Fatalf("sixth attempt: %v", err)
	}
	// Audited once per window, not per attempt.
	f.login(bad)
	f.login(bad)
	res, _ := f.log.Search(context.Background(), auditlog.Query{Action: "login.rate_limited"})
	if len(res) != 1 {
		t.Fatalf("%d rate-limit entries", len(res))
	}
	// After the window it works, and success resets the counter.
	f.now = f.now.Add(5*time.Minute + time.Second)
	if _, err := f.login(LoginRequest{Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		f.login(bad)
	}
	if _, err := f.login(LoginRequest{Username: "alice"}); err != nil {
		t.Fatalf("counter not reset by success: %v", err)
	}
}

func TestAccountLimitHoldsAcrossIPs(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.AccountLimit = ratelimit.Rule{Attempts: 10, Window: time.Hour} })
	f.user("alice", RoleViewer)
	for i := 0; i < 10; i++ {
		f.login(LoginRequest{Username: "alice", Password: "wrong password that is long enough", ClientIP: fmt.Sprintf("203.0.113.%d", i)})
	}
	var rl *RateLimitedError
	if _, err := f.login(LoginRequest{Username: "alice", ClientIP: "203.0.113.200"}); !errors.As(err, &rl) {
		t.Fatalf("account limit did not hold for a fresh IP: %v", err)
	}
}

func TestGatewayTokens(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tok, info, err := f.svc.CreateToken(ctx, root, "ci-agent", RoleAgent, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) < 32 || !strings.HasPrefix(tok, "wgt_") || info.Role != RoleAgent {
		t.Fatalf("%q %+v", tok, info)
	}
	p, err := f.svc.AuthenticateToken(ctx, tok, "192.0.2.5")
	if err != nil || p.Role != RoleAgent || p.Name != "ci-agent" {
		t.Fatalf("%+v %v", p, err)
	}
	if _, _, err := f.svc.CreateToken(ctx, root, "x", RoleAdmin, 0); !errors.Is(err, ErrInvalidInput) {
		t.Fatal("admin token created")
	}
	if _, _, err := f.svc.CreateToken(ctx, Principal{Kind: "user", Name: "op", Role: RoleOperator}, "y", RoleAgent, 0); !errors.Is(err, ErrForbidden) {
		t.Fatal("operator created a token")
	}
	for _, bad := range []string{tok[:len(tok)-1] + "x", "wgt_" + info.ID + "_" + strings.Repeat("A", 43), "", "Bearer " + tok, "wgt_short"} {
		if _, err := f.svc.AuthenticateToken(ctx, bad, "192.0.2.6"); !errors.Is(err, ErrInvalidCredentials) && !isRateLimited(err) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	f.now = f.now.Add(31 * 24 * time.Hour)
	if _, err := f.svc.AuthenticateToken(ctx, tok, "192.0.2.5"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal("expired token accepted")
	}
	tok2, _, _ := f.svc.CreateToken(ctx, root, "ops", RoleOperator, 0)
	f.svc.RevokeToken(ctx, root, "ops")
	if _, err := f.svc.AuthenticateToken(ctx, tok2, "192.0.2.5"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal("revoked token accepted")
	}
	list, _ := f.svc.ListTokens(ctx)
	if len(list) != 2 || list[1].Revoked == nil {
		t.Fatalf("%+v", list)
	}
	// The database holds no token secret.
	f.log.Close()
	f.db.Close()
	data, _ := os.ReadFile(filepath.Join(f.dir, "warden.db"))
	wal, _ := os.ReadFile(filepath.Join(f.dir, "warden.db-wal"))
	sec := strings.TrimPrefix(tok, "wgt_"+info.ID+"_") // the secret may itself contain "_"
	if len(sec) != 43 {
		t.Fatalf("secret part %q", sec)
	}
	if bytes.Contains(data, []byte(sec)) || bytes.Contains(wal, []byte(sec)) {
		t.Fatal("token secret stored")
	}
}

func isRateLimited(err error) bool { var rl *RateLimitedError; return errors.As(err, &rl) }

func TestWeakSharedTokenRejected(t *testing.T) {
	for _, tok := range []string{"short", strings.Repeat("a", 40), strings.Repeat("password", 5)} {
		if err := CheckSharedToken(tok); !errors.Is(err, ErrWeakToken) {
			t.Errorf("%q accepted", tok)
		}
	}
	if err := CheckSharedToken("Qm9vdHN0cmFwVG9rZW4tNWY3YzJhOWUxYjM4ZDQ2MA"); err != nil {
		t.Fatal(err)
	}
}

func TestRolesTable(t *testing.T) {
	order := []Role{RoleViewer, RoleAgent, RoleOperator, RoleAdmin}
	for perm, min := range Permissions() {
		for _, r := range order {
			want := rank[r] >= rank[min]
			if Allows(r, perm) != want {
				t.Errorf("%s %s: allowed=%v, want %v", r, perm, !want, want)
			}
		}
	}
	if Allows(RoleAdmin, Permission("no.such.permission")) {
		t.Fatal("unknown permission allowed")
	}
	if Allows(RoleViewer, PermExec) || Allows(RoleAgent, PermUsersManage) || Allows(RoleOperator, PermTokensManage) || !Allows(RoleAgent, PermExec) {
		t.Fatal("role table wrong")
	}
}

func TestSecretsNeverInAuditLog(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleViewer)
	secret, codes := enroll(t, f, "alice")
	f.now = f.now.Add(time.Minute)
	tok, _ := f.login(LoginRequest{Username: "alice", TOTP: totp.Code(secret, totp.Step(f.now))})
	f.svc.Refresh(context.Background(), tok.RefreshToken, "192.0.2.10")
	f.login(LoginRequest{Username: "alice", Password: "a wrong password with a needle 7731", RecoveryCode: codes[0]})
	gt, _, _ := f.svc.CreateToken(context.Background(), root, "ci", RoleAgent, 0)
	f.svc.AuthenticateToken(context.Background(), gt, "192.0.2.10")
	f.svc.ResetPassword(context.Background(), Local("alice"), "alice", alicePW, newPW, "192.0.2.10")
	var export bytes.Buffer
	f.log.Export(context.Background(), &export, 0, time.Time{})
	for _, s := range []string{alicePW, newPW, "needle 7731", tok.RefreshToken, tok.AccessToken, codes[0], totp.EncodeSecret(secret), gt} {
		if strings.Contains(export.String(), s) {
			t.Fatalf("the audit log holds a secret: %q", s)
		}
	}
}

func TestPasswordContextWords(t *testing.T) {
	f := newFixture(t, nil)
	for _, pw := range []string{
		"alice alice alice alice alice alice alice",          // the user name
		"wardenwardenwardenwardenwardengatewaygateway",       // product words
		"passwordpasswordpassword123456789012345678",         // common words and sequences
		"adminadminadminadmin secretsecret operatoroperator", // role words
	} {
		if _, err := f.svc.CreateUser(context.Background(), root, "alice", RoleViewer, pw); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%q accepted: %v", pw, err)
		}
	}
	if _, err := f.svc.CreateUser(context.Background(), root, "alicia", RoleViewer, "velvet orbit lantern quarry tundra mosaic"); err != nil {
		t.Fatal(err)
	}
}

func TestIdleTimeout(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.IdleTimeout = 30 * time.Minute })
	f.user("alice", RoleViewer)
	ctx := context.Background()
	tok, _ := f.login(LoginRequest{Username: "alice"})
	// Used after 10 minutes: the session stays alive through a refresh at 31.
	f.now = f.now.Add(10 * time.Minute)
	if _, err := f.svc.Authenticate(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(21 * time.Minute)
	next, err := f.svc.Refresh(ctx, tok.RefreshToken, "192.0.2.10")
	if err != nil {
		t.Fatalf("active session refused: %v", err)
	}
	// Then nothing for 31 minutes: it is over.
	f.now = f.now.Add(31 * time.Minute)
	if _, err := f.svc.Refresh(ctx, next.RefreshToken, "192.0.2.10"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("idle session refreshed: %v", err)
	}
	list, _ := f.svc.ListSessions(ctx, SessionFilter{User: "alice", IncludeEnded: true})
	if len(list) != 1 || list[0].Reason != "idle timeout" {
		t.Fatalf("%+v", list)
	}
}

// GetUser answers from a cache: a change made through the same Service
// shows at once, one made by another process (another Service on the same
// database) within a second, never later.
func TestGetUserCacheCoherence(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.user("alice", RoleOperator)
	f.user("bob", RoleOperator)
	u, err := f.svc.GetUser(ctx, "alice")
	if err != nil || u.Disabled != nil {
		t.Fatalf("GetUser: %+v, %v", u, err)
	}
	// The same Service: at once.
	if err := f.svc.DisableUser(ctx, root, "alice"); err != nil {
		t.Fatal(err)
	}
	if u, _ := f.svc.GetUser(ctx, "alice"); u.Disabled == nil {
		t.Fatal("disabled user still reported enabled by the Service that disabled it")
	}
	// Another process: seen after sessionTTL.
	if u, _ := f.svc.GetUser(ctx, "bob"); u.Disabled != nil {
		t.Fatal("bob disabled too early")
	}
	other, err := New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.DisableUser(ctx, root, "bob"); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(sessionTTL)
	if u, _ := f.svc.GetUser(ctx, "BOB"); u.Disabled == nil {
		t.Fatalf("another process's change not seen after %s", sessionTTL)
	}
	// What the caller gets is its own copy.
	u, _ = f.svc.GetUser(ctx, "bob")
	*u.Disabled = time.Time{}
	if u, _ := f.svc.GetUser(ctx, "bob"); u.Disabled.IsZero() {
		t.Fatal("caller's change reached the cache")
	}
}

// A read that started before a write and finishes after it is not cached.
func TestUserCacheRejectsReadsOlderThanAWrite(t *testing.T) {
	c := newUserCache()
	now := time.Now()
	gen := c.generation()
	c.invalidate() // a write ended while the read ran
	c.put("alice", User{Name: "alice"}, gen, now)
	if _, ok := c.get("alice", now); ok {
		t.Fatal("a read older than a write was cached")
	}
	c.put("alice", User{Name: "alice"}, c.generation(), now)
	if _, ok := c.get("alice", now); !ok {
		t.Fatal("a current read was not cached")
	}
	if _, ok := c.get("alice", now.Add(sessionTTL)); ok {
		t.Fatal("entry outlived sessionTTL")
	}
}

// A token's last use is recorded to the minute: the first use writes it,
// uses within the minute do not write again, a later one does.
func TestTokenLastUsed(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tok, _, err := f.svc.CreateToken(ctx, root, "agent", RoleAgent, 0)
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		t.Helper()
		ts, err := f.svc.ListTokens(ctx)
		if err != nil || len(ts) != 1 || ts[0].LastUsed == nil {
			t.Fatalf("tokens %+v, %v", ts, err)
		}
		return *ts[0].LastUsed
	}
	use := func() {
		t.Helper()
		if _, err := f.svc.AuthenticateToken(ctx, tok, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	first := f.now
	use()
	if got := lastUsed(); !got.Equal(first) {
		t.Fatalf("last used %v, want %v", got, first)
	}
	f.now = f.now.Add(30 * time.Second)
	use()
	if got := lastUsed(); !got.Equal(first) {
		t.Fatalf("rewritten within the minute: %v", got)
	}
	f.now = f.now.Add(time.Minute)
	use()
	if got := lastUsed(); !got.Equal(f.now) {
		t.Fatalf("last used %v after a minute, want %v", got, f.now)
	}
}
