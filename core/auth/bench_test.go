package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auth/password"
)

// BenchmarkAuthenticate validates an access token including the session
// check; run with -cpu 1 for the single-core figure.
func BenchmarkAuthenticate(b *testing.B) {
	f := newFixture(b, nil)
	f.user("alice", RoleOperator)
	tok, err := f.login(LoginRequest{Username: "alice"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.svc.Authenticate(ctx, tok.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
}

// BenchmarkAuthenticateUncached parses the JWT every time (a new token per
// request), the cost without the token cache.
func BenchmarkAuthenticateUncached(b *testing.B) {
	f := newFixture(b, nil)
	f.user("alice", RoleOperator)
	tok, _ := f.login(LoginRequest{Username: "alice"})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.svc.validated.forgetAll()
		if _, err := f.svc.Authenticate(ctx, tok.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
}

// BenchmarkLoginDefaultParams is one password login with the production
// argon2id parameters.
func BenchmarkLoginDefaultParams(b *testing.B) {
	f := newFixture(b, func(o *Options) {
		o.Hasher = password.NewHasher(password.Default(), 0)
		o.RateLimit = false
	})
	f.user("alice", RoleOperator)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.login(LoginRequest{Username: "alice"}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchLoginFailure(b *testing.B, name string) {
	f := newFixture(b, func(o *Options) {
		o.Hasher = password.NewHasher(password.Default(), 0)
		o.RateLimit = false
	})
	f.user("alice", RoleOperator)
	for b.Loop() {
		if _, err := f.login(LoginRequest{Username: name, Password: "wrong password that is long enough!"}); !errors.Is(err, ErrInvalidCredentials) {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoginWrongPassword(b *testing.B) { benchLoginFailure(b, "alice") }
func BenchmarkLoginUnknownUser(b *testing.B)   { benchLoginFailure(b, "nobody") }

func TestLoginFloodIsCapped(t *testing.T) {
	hasher := password.NewHasher(lowParams(), 2)
	f := newFixture(t, func(o *Options) { o.Hasher = hasher; o.RateLimit = false })
	f.user("alice", RoleViewer)
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.login(LoginRequest{Username: "alice", Password: "wrong password that is long enough!"})
		}()
	}
	wg.Wait()
	if got := hasher.MaxInFlight(); got > 2 {
		t.Fatalf("%d hashes ran at once, cap 2", got)
	}
}

func TestRevocationCacheBound(t *testing.T) {
	f := newFixture(t, nil)
	f.user("alice", RoleOperator)
	tok, _ := f.login(LoginRequest{Username: "alice"})
	f.svc.Authenticate(context.Background(), tok.AccessToken)
	f.now = f.now.Add(2 * time.Minute)
	f.svc.Sweep()
	if _, ok := f.svc.sessions.get(tok.Session.ID, f.now); ok {
		t.Fatal("stale session state kept")
	}
}
