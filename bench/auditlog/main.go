// Command auditlog measures the audit log at scale and prints a Markdown
// table: durable appends per second with 1, 16 and 64 writers, verify
// throughput on a large log beside a bare HMAC-SHA256 loop over the same
// bytes, full-text search latency, and the time to purge half the log.
// bench/auditlog.sh runs it.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/store"
)

func main() {
	entries := flag.Int("entries", 1_000_000, "entries in the large log")
	purge := flag.Int("purge", 500_000, "entries to purge")
	dir := flag.String("dir", "", "work directory (default: a temporary one)")
	flag.Parse()
	ctx := context.Background()
	if *dir == "" {
		d, err := os.MkdirTemp("", "warden-bench-")
		check(err)
		defer os.RemoveAll(d)
		*dir = d
	}
	key := make([]byte, auditlog.KeySize)
	rand.Read(key)

	fmt.Printf("| measurement | result | goal |\n|---|---|---|\n")
	for _, w := range []int{1, 16, 64} {
		n := map[int]int{1: 3000, 16: 40000, 64: 200000}[w]
		l, db := open(ctx, filepath.Join(*dir, fmt.Sprintf("append%d", w)), key)
		d := appendN(ctx, l, n, w)
		rate := float64(n) / d.Seconds()
		goal := "—"
		if w == 64 {
			goal = ">= 50,000/s"
		}
		fmt.Printf("| durable appends, %d writer%s | %.0f/s (%d in %s) | %s |\n", w, map[bool]string{true: "", false: "s"}[w == 1], rate, n, d.Round(time.Millisecond), goal)
		l.Close()
		db.Close()
	}

	big := filepath.Join(*dir, "big")
	l, db := open(ctx, big, key)
	start := time.Now()
	appendN(ctx, l, *entries, 64)
	fill := time.Since(start)
	idx := time.Now()
	_, err := l.IndexPending(ctx)
	check(err)
	fmt.Printf("| fill %d entries (64 writers), then index them | %s, index %s | — |\n", *entries, fill.Round(time.Millisecond), time.Since(idx).Round(time.Millisecond))

	var best time.Duration
	for i := 0; i < 3; i++ {
		rep, err := l.Verify(ctx, runtime.NumCPU())
		check(err)
		if !rep.OK || int(rep.Entries) < *entries { // plus the entry that began sealing
			log.Fatalf("verify: %+v", rep)
		}
		if best == 0 || rep.Duration < best {
			best = rep.Duration
		}
	}
	vrate := float64(*entries) / best.Seconds()
	hrate := bareHMAC(*entries, key)
	fmt.Printf("| verify %d entries (%d CPUs) | %.2fM entries/s (%s) | >= 1M/s |\n", *entries, runtime.NumCPU(), vrate/1e6, best.Round(time.Millisecond))
	fmt.Printf("| bare HMAC-SHA256 loop, same bytes, one core | %.2fM/s; verify runs at %.0f%% of it | — |\n", hrate/1e6, 100*vrate/hrate)

	var lat []time.Duration
	queries := []auditlog.Query{{Text: "u7"}, {Text: "login"}, {Text: "sandbox.exec"}, {Text: "session/123456"}, {Text: "u3 logout"},
		{Text: "s42"}, {Text: "Mozilla"}, {Text: "u1*"}, {Action: "secret.set", Text: "u9"}, {Text: "nothing-matches-this"}}
	for i := 0; i < 300; i++ {
		q := queries[i%len(queries)]
		s := time.Now()
		_, err := l.Search(ctx, q)
		check(err)
		lat = append(lat, time.Since(s))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Printf("| search on %d entries (300 queries, 50 results) | p50 %s, p95 %s | p95 < 20 ms |\n", *entries,
		lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*95/100].Round(10*time.Microsecond))

	keep := *entries - *purge + 1 // the purge record counts
	start = time.Now()
	n, err := l.EnforceRetention(ctx, 0, keep)
	check(err)
	took := time.Since(start)
	start = time.Now()
	_, err = l.IndexPending(ctx)
	check(err)
	clean := time.Since(start)
	rep, err := l.Verify(ctx, runtime.NumCPU())
	check(err)
	if !rep.OK {
		log.Fatalf("verify after purge: %+v", rep.Break)
	}
	fmt.Printf("| purge %d entries (chain kept verifiable) | %s | < 5 s |\n", n, took.Round(time.Millisecond))
	fmt.Printf("| then bring the search index in line (background) | %s | — |\n", clean.Round(time.Millisecond))
	l.Close()
	db.Close()
}

func open(ctx context.Context, dir string, key []byte) (*auditlog.Log, *store.Store) {
	check(os.MkdirAll(dir, 0o700))
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, "warden.db")})
	check(err)
	// Sealed, as every log opened from a state dir is.
	l, err := auditlog.Open(ctx, db, key, auditlog.Options{HeadFile: filepath.Join(dir, auditlog.HeadFileName)})
	check(err)
	return l, db
}

func event(i int) auditlog.Event {
	return auditlog.Event{Actor: fmt.Sprintf("user:u%d", i%50), Action: []string{"login", "logout", "token.use", "sandbox.exec", "secret.set"}[i%5],
		Target: fmt.Sprintf("session/%d", i), Outcome: auditlog.OutcomeSuccess, SourceIP: "127.0.0.1",
		Details: map[string]any{"session": fmt.Sprintf("s%d", i%1000), "ua": "Mozilla/5.0 test agent", "n": i}}
}

func appendN(ctx context.Context, l *auditlog.Log, n, writers int) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				if _, err := l.Append(ctx, event(i)); err != nil {
					log.Fatal(err)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// bareHMAC is HMAC-SHA256 over entry-sized inputs on one core: the
// ceiling verification is measured against.
func bareHMAC(n int, key []byte) float64 {
	e := auditlog.Entry{Seq: 1, Time: time.Now(), Actor: "user:u1", Action: "login", Target: "session/123456", Outcome: "success",
		SourceIP: "127.0.0.1", Details: []byte(`{"n":123456,"session":"s456","ua":"Mozilla/5.0 test agent"}`)}
	body := e.Encode()
	prev := make([]byte, 32)
	m := hmac.New(sha256.New, key)
	sum := make([]byte, 0, 32)
	start := time.Now()
	for i := 0; i < n; i++ {
		m.Reset()
		m.Write(prev)
		m.Write(body)
		sum = m.Sum(sum[:0])
	}
	return float64(n) / time.Since(start).Seconds()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
