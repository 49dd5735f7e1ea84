package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"

	"github.com/warden-sec/warden/core/auth"
)

// benchConns is how many keep-alive connections the benchmarks' clients
// use, each with one request in flight.
const benchConns = 64

// BenchmarkMe is GET /api/v1/me with a user's access token through the
// whole gateway (middleware, authentication, the handler's store reads)
// from benchConns concurrent clients in the same process. Compare with
// BenchmarkMeBare: go test -bench Me -run '^$' ./core/gateway/
func BenchmarkMe(b *testing.B) {
	e := newTestEnv(b, envOptions{})
	e.addUser("bench", auth.RoleAdmin)
	tok := e.login("bench", nil).AccessToken
	benchGet(b, e.url+"/api/v1/me", tok)
}

// BenchmarkMeBare is the same client against a bare net/http handler on a
// loopback port that returns the gateway's /me bytes: the floor.
func BenchmarkMeBare(b *testing.B) {
	e := newTestEnv(b, envOptions{})
	e.addUser("bench", auth.RoleAdmin)
	tok := e.login("bench", nil).AccessToken
	r := e.call("GET", "/api/v1/me", tok, nil)
	if r.status != http.StatusOK {
		b.Fatalf("GET /api/v1/me: %d %s", r.status, r.body)
	}
	if err := e.stop(); err != nil {
		b.Fatal(err)
	}
	body, cl := r.body, strconv.Itoa(len(r.body))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", cl)
		w.Write(body)
	}))
	defer srv.Close()
	benchGet(b, srv.URL+"/api/v1/me", tok)
}

// benchGet sends GET url with a bearer token from benchConns goroutines
// sharing a client that keeps benchConns idle connections, and reports
// requests per second. Allocations are the client's and the server's
// together.
func benchGet(b *testing.B, url, token string) {
	b.Helper()
	tr := &http.Transport{MaxIdleConns: benchConns, MaxIdleConnsPerHost: benchConns, MaxConnsPerHost: benchConns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.SetParallelism(max(1, benchConns/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			b.Error(err)
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
		for pb.Next() {
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil {
				b.Error(err)
				return
			}
			if res.StatusCode != http.StatusOK {
				b.Errorf("GET %s: status %d", url, res.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
