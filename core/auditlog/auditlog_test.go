package auditlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/warden-sec/warden/core/store"
)

type fixture struct {
	t    testing.TB
	path string
	db   *store.Store
	log  *Log
	key  []byte
	now  time.Time
	head string // the head record's path; empty leaves sealing off
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "warden.db"), key: make([]byte, KeySize), now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	rand.Read(f.key)
	f.open(store.Options{})
	return f
}

func (f *fixture) open(opts store.Options) {
	f.t.Helper()
	opts.Path = f.path
	db, err := store.Open(context.Background(), opts)
	if err != nil {
		f.t.Fatal(err)
	}
	l, err := Open(context.Background(), db, f.key, Options{Now: func() time.Time { return f.now }, HeadFile: f.head})
	if err != nil {
		f.t.Fatal(err)
	}
	f.db, f.log = db, l
	f.t.Cleanup(func() { l.Close(); db.Close() })
}

func (f *fixture) append(n int) {
	f.t.Helper()
	for i := 0; i < n; i++ {
		if _, err := f.log.Append(context.Background(), Event{Actor: fmt.Sprintf("user:u%d", i%5), Action: []string{"login", "logout", "secret.set"}[i%3],
			Target: fmt.Sprintf("session/%d", i), Outcome: OutcomeSuccess, SourceIP: "127.0.0.1", Details: map[string]any{"n": i}}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// raw runs SQL on the database file directly, as an attacker with file access would.
func (f *fixture) raw(query string, args ...any) {
	f.t.Helper()
	db, err := sql.Open("sqlite", "file:"+f.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		f.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
}

func (f *fixture) verify() Report {
	f.t.Helper()
	rep, err := f.log.Verify(context.Background(), 2)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

func (f *fixture) wantBreak(seq uint64, kind string) {
	f.t.Helper()
	rep := f.verify()
	if rep.OK || rep.Break == nil || rep.Break.Seq != seq || rep.Break.Kind != kind {
		f.t.Fatalf("verify = %+v (break %+v), want %s at %d", rep, rep.Break, kind, seq)
	}
}

func TestAppendAndVerify(t *testing.T) {
	f := newFixture(t)
	if rep := f.verify(); !rep.OK || rep.Entries != 0 {
		t.Fatalf("empty log: %+v", rep)
	}
	f.append(10)
	rep := f.verify()
	if !rep.OK || rep.Entries != 10 || rep.First != 1 || rep.Last != 10 {
		t.Fatalf("%+v %+v", rep, rep.Break)
	}
	e, err := f.log.Append(context.Background(), Event{Actor: "cli:root", Action: "secret.set", Target: "gateway_token", Outcome: OutcomeSuccess})
	if err != nil || e.Seq != 11 || len(e.Hash) != 32 || len(e.PrevHash) != 32 {
		t.Fatalf("%+v %v", e, err)
	}
}

func TestConcurrentAppendsFormOneChain(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	seen := make(chan uint64, 64*50)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				e, err := f.log.Append(context.Background(), Event{Actor: fmt.Sprintf("w%d", w), Action: "test", Outcome: OutcomeSuccess})
				if err != nil {
					t.Error(err)
					return
				}
				seen <- e.Seq
			}
		}(w)
	}
	wg.Wait()
	close(seen)
	got := map[uint64]bool{}
	for s := range seen {
		if got[s] {
			t.Fatalf("seq %d handed out twice", s)
		}
		got[s] = true
	}
	if len(got) != 3200 {
		t.Fatalf("%d entries", len(got))
	}
	if rep := f.verify(); !rep.OK || rep.Entries != 3200 {
		t.Fatalf("%+v %+v", rep, rep.Break)
	}
}

func TestTwoProcessesShareTheChain(t *testing.T) {
	f := newFixture(t)
	// A second Log on its own store, as the CLI would open while serve runs.
	db2, err := store.Open(context.Background(), store.Options{Path: f.path})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	l2, err := Open(context.Background(), db2, f.key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	var wg sync.WaitGroup
	for _, l := range []*Log{f.log, l2} {
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(l *Log) {
				defer wg.Done()
				for i := 0; i < 40; i++ {
					if _, err := l.Append(context.Background(), Event{Actor: "x", Action: "y"}); err != nil {
						t.Error(err)
						return
					}
				}
			}(l)
		}
	}
	wg.Wait()
	if rep := f.verify(); !rep.OK || rep.Entries != 640 {
		t.Fatalf("%+v %+v", rep, rep.Break)
	}
}

func TestTamperingIsCaught(t *testing.T) {
	t.Run("edit a row", func(t *testing.T) {
		f := newFixture(t)
		f.append(20)
		var body []byte
		f.db.Read(context.Background(), func(ctx context.Context, q store.Queryer) error {
			return q.QueryRowContext(ctx, `SELECT body FROM audit_log WHERE seq = 7`).Scan(&body)
		})
		edited := bytes.Replace(body, []byte("user:u1"), []byte("user:u9"), 1)
		f.raw(`UPDATE audit_log SET body = ? WHERE seq = 7`, edited)
		f.wantBreak(7, BreakHash)
	})
	t.Run("edit a hash", func(t *testing.T) {
		f := newFixture(t)
		f.append(20)
		f.raw(`UPDATE audit_log SET hash = zeroblob(32) WHERE seq = 12`)
		f.wantBreak(12, BreakHash)
	})
	t.Run("delete a middle row", func(t *testing.T) {
		f := newFixture(t)
		f.append(20)
		f.raw(`DELETE FROM audit_log WHERE seq = 9`)
		f.wantBreak(9, BreakGap)
	})
	t.Run("delete a range and renumber", func(t *testing.T) {
		f := newFixture(t)
		f.append(20)
		f.raw(`DELETE FROM audit_log WHERE seq BETWEEN 5 AND 6`)
		f.raw(`UPDATE audit_log SET seq = seq - 2 WHERE seq > 6`)
		f.wantBreak(5, BreakLink)
	})
	t.Run("swap two rows", func(t *testing.T) {
		f := newFixture(t)
		f.append(20)
		f.raw(`UPDATE audit_log SET seq = -1 WHERE seq = 5`)
		f.raw(`UPDATE audit_log SET seq = 5 WHERE seq = 6`)
		f.raw(`UPDATE audit_log SET seq = 6 WHERE seq = -1`)
		f.wantBreak(5, BreakLink)
	})
	t.Run("swap two rows with their links", func(t *testing.T) {
		f := newFixture(t)
		f.append(20)
		// Move the content only, keeping each row's seq and links.
		f.raw(`UPDATE audit_log SET body = (SELECT body FROM audit_log WHERE seq = 6) WHERE seq = 5`)
		f.wantBreak(5, BreakReorder)
	})
	t.Run("delete the oldest rows", func(t *testing.T) {
		f := newFixture(t)
		f.append(20)
		f.raw(`DELETE FROM audit_log WHERE seq <= 3`)
		f.wantBreak(4, BreakStart)
	})
	t.Run("truncate the tail after a checkpoint", func(t *testing.T) {
		f := newFixture(t)
		f.append(20)
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		cp, err := f.log.NewCheckpoint(context.Background(), priv)
		if err != nil {
			t.Fatal(err)
		}
		f.raw(`DELETE FROM audit_log WHERE seq > 17`)
		if rep := f.verify(); !rep.OK {
			t.Fatalf("a truncated tail alone is not detectable without a checkpoint: %+v", rep.Break)
		}
		brk, _, err := f.log.CheckAgainst(context.Background(), cp)
		if err != nil || brk == nil || brk.Kind != BreakTruncated || brk.Seq != 18 {
			t.Fatalf("%+v %v", brk, err)
		}
	})
	t.Run("rewrite history with the key", func(t *testing.T) {
		f := newFixture(t)
		f.append(10)
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		cp, _ := f.log.NewCheckpoint(context.Background(), priv)
		// An attacker holding the HMAC key rebuilds the chain from seq 3.
		f.raw(`DELETE FROM audit_log WHERE seq >= 3`)
		f.log.Close()
		f.db.Close()
		f.open(store.Options{})
		f.append(8)
		if rep := f.verify(); !rep.OK {
			t.Fatalf("the rebuilt chain verifies with the key: %+v", rep.Break)
		}
		brk, _, _ := f.log.CheckAgainst(context.Background(), cp)
		if brk == nil || brk.Kind != BreakCheckpoint || brk.Seq != 10 {
			t.Fatalf("%+v", brk)
		}
	})
}

func TestCheckpointSignature(t *testing.T) {
	f := newFixture(t)
	f.append(3)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	cp, _ := f.log.NewCheckpoint(context.Background(), priv)
	data, _ := jsonMarshal(cp)
	if _, err := ParseCheckpoint(data, pub); err != nil {
		t.Fatal(err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := ParseCheckpoint(data, other); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("other key: %v", err)
	}
	forged := bytes.Replace(data, []byte(`"seq":3`), []byte(`"seq":2`), 1)
	if _, err := ParseCheckpoint(forged, pub); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("forged: %v", err)
	}
}

func TestRetention(t *testing.T) {
	f := newFixture(t)
	f.append(10)
	f.now = f.now.Add(40 * 24 * time.Hour)
	f.append(10)
	ctx := context.Background()

	// Within limits: nothing happens, nothing is appended.
	n, err := f.log.EnforceRetention(ctx, 90, 1000)
	if err != nil || n != 0 {
		t.Fatalf("%d %v", n, err)
	}
	if h, _ := f.log.Head(ctx); h.Seq != 20 {
		t.Fatalf("no-op purge appended: head %d", h.Seq)
	}
	// By age: the first ten are older than 30 days.
	n, err = f.log.EnforceRetention(ctx, 30, 0)
	if err != nil || n != 10 {
		t.Fatalf("%d %v", n, err)
	}
	h, _ := f.log.Head(ctx)
	if h.First != 11 || h.Seq != 21 || h.Count != 11 {
		t.Fatalf("%+v", h)
	}
	rep := f.verify()
	if !rep.OK || rep.Purges != 1 {
		t.Fatalf("after purge: %+v %+v", rep, rep.Break)
	}
	// By count: keep 5 including the new purge entry.
	n, err = f.log.EnforceRetention(ctx, 0, 5)
	if err != nil || n != 7 {
		t.Fatalf("%d %v", n, err)
	}
	h, _ = f.log.Head(ctx)
	if h.Count != 5 {
		t.Fatalf("%+v", h)
	}
	if rep := f.verify(); !rep.OK {
		t.Fatalf("after second purge: %+v", rep.Break)
	}
	// Any other deletion still breaks the chain.
	f.raw(`DELETE FROM audit_log WHERE seq = ?`, int64(h.First))
	f.wantBreak(h.First, BreakStart)
}

// A purge that takes every entry (max_entries 1) leaves only its own
// entry, chained from the end it purged: the log still verifies, and
// the next append continues it.
func TestPurgeEverything(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		f := newFixture(t)
		if sealed {
			f = newSealedFixture(t)
		}
		f.append(5)
		ctx := context.Background()
		last, _ := f.log.Head(ctx)
		if _, err := f.log.EnforceRetention(ctx, 0, 1); err != nil {
			t.Fatal(err)
		}
		h, _ := f.log.Head(ctx)
		if h.Count != 1 || h.Seq != last.Seq+1 {
			t.Fatalf("sealed %v: %+v after purging %+v", sealed, h, last)
		}
		if rep := f.verify(); !rep.OK {
			t.Fatalf("sealed %v: after purging everything: %+v", sealed, rep.Break)
		}
		f.append(2)
		if rep := f.verify(); !rep.OK {
			t.Fatalf("sealed %v: after appending again: %+v", sealed, rep.Break)
		}
	}
}

func TestPurgeLargeKeepsVerifying(t *testing.T) {
	f := newFixture(t)
	f.append(3000)
	n, err := f.log.EnforceRetention(context.Background(), 0, 1000)
	if err != nil || n != 2001 {
		t.Fatalf("%d %v", n, err)
	}
	if rep := f.verify(); !rep.OK || rep.Entries != 1000 {
		t.Fatalf("%+v %+v", rep, rep.Break)
	}
	// Purged entries are gone from search too.
	res, err := f.log.Search(context.Background(), Query{Text: "session", Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res {
		if e.Seq <= 2001 {
			t.Fatalf("search returned purged entry %d", e.Seq)
		}
	}
	if len(res) != 999 {
		t.Fatalf("%d results", len(res))
	}
}

func TestSearch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.append(30)
	f.log.Append(ctx, Event{Actor: "cli:root", Action: "secret.set", Target: "telegram_bot_token", Outcome: OutcomeSuccess, Details: map[string]any{"replaced": true}})
	cases := []struct {
		q    Query
		want int
	}{
		{Query{Text: "telegram_bot_token"}, 1},
		{Query{Text: "telegram"}, 1},
		{Query{Text: "secret.set"}, 11},
		{Query{Text: "user:u1"}, 6},
		{Query{Text: "session/3"}, 1},
		{Query{Text: "sess*"}, 30},
		{Query{Action: "secret.*"}, 11},
		{Query{Action: "login", Actor: "user:u0"}, 2},
		{Query{Text: "nothing-like-this"}, 0},
		{Query{Limit: 7}, 7},
		{Query{Since: f.now.Add(time.Second)}, 0},
	}
	for _, c := range cases {
		got, err := f.log.Search(ctx, c.q)
		if err != nil {
			t.Fatalf("%+v: %v", c.q, err)
		}
		if len(got) != c.want {
			t.Errorf("%+v: %d results, want %d", c.q, len(got), c.want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Seq >= got[i-1].Seq {
				t.Fatalf("not newest first")
			}
		}
	}
	if _, err := f.log.Search(ctx, Query{Text: "*"}); !errors.Is(err, ErrQuery) {
		t.Fatalf("lone star: %v", err)
	}
	// Punctuation is literal, never FTS syntax.
	if _, err := f.log.Search(ctx, Query{Text: `a" OR "b NEAR( ^x`}); err != nil {
		t.Fatalf("injection-like text: %v", err)
	}
}

func TestExportAndVerifyExport(t *testing.T) {
	f := newFixture(t)
	f.append(50)
	f.log.Append(context.Background(), Event{Actor: "a", Action: "b", Details: map[string]any{"nested": map[string]any{"z": 1, "a": []any{"x", true, nil}}, "s": "quote\" <tag> \u2028 é"}})
	f.log.EnforceRetention(context.Background(), 0, 40)
	var buf bytes.Buffer
	n, err := f.log.Export(context.Background(), &buf, 0, time.Time{})
	if err != nil || n != 40 {
		t.Fatalf("%d %v", n, err)
	}
	rep, err := VerifyExport(bytes.NewReader(buf.Bytes()), f.key)
	if err != nil || !rep.OK || rep.Entries != 40 || len(rep.Notes) != 0 {
		t.Fatalf("%+v %+v %v", rep, rep.Break, err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// An edited line, a removed line, a wrong key.
	edited := strings.Replace(buf.String(), lines[5], strings.Replace(lines[5], `"outcome":"success"`, `"outcome":"failure"`, 1), 1)
	if rep, _ := VerifyExport(strings.NewReader(edited), f.key); rep.OK || rep.Break.Kind != BreakHash {
		t.Fatalf("edited export: %+v", rep.Break)
	}
	removed := strings.Replace(buf.String(), lines[9]+"\n", "", 1)
	if rep, _ := VerifyExport(strings.NewReader(removed), f.key); rep.OK || rep.Break.Kind != BreakGap {
		t.Fatalf("removed line: %+v", rep.Break)
	}
	other := make([]byte, KeySize)
	if rep, _ := VerifyExport(bytes.NewReader(buf.Bytes()), other); rep.OK {
		t.Fatal("verified with the wrong key")
	}
	// A partial export verifies from its first entry, with a note.
	var part bytes.Buffer
	f.log.Export(context.Background(), &part, 30, time.Time{})
	if rep, _ := VerifyExport(&part, f.key); !rep.OK || len(rep.Notes) != 1 {
		t.Fatalf("partial export: %+v", rep)
	}
}

func TestSecretsNeverReachTheDatabase(t *testing.T) {
	f := newFixture(t)
	const secret = "hunter2-correct-horse-4f9a1c"
	f.log.Append(context.Background(), Event{Actor: "user:alice", Action: "login", Outcome: OutcomeFailure, Details: map[string]any{
		"password": secret, "new_password": secret, "refresh_token": secret, "headers": map[string]any{"Authorization": "Bearer " + secret},
		"otp": secret, "api_key": secret, "token_name": "ci", "has_password": true,
	}})
	f.log.Close()
	f.db.Close()
	for _, name := range []string{"warden.db", "warden.db-wal"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(f.path), name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(secret)) {
			t.Fatalf("%s holds the secret", name)
		}
	}
	f.open(store.Options{})
	res, _ := f.log.Search(context.Background(), Query{Text: "alice"})
	if len(res) != 1 || !strings.Contains(string(res[0].Details), `"token_name":"ci"`) || !strings.Contains(string(res[0].Details), `"has_password":true`) {
		t.Fatalf("%s", res[0].Details)
	}
}

func TestAppendFailsClosed(t *testing.T) {
	f := newFixture(t)
	f.append(1)
	f.log.Close()
	f.db.Close()
	f.open(store.Options{BusyTimeout: 200 * time.Millisecond})
	// Another process holds the write lock past the busy timeout.
	holder, err := sql.Open("sqlite", "file:"+f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	conn, _ := holder.Conn(context.Background())
	if _, err := conn.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	_, err = f.log.Append(context.Background(), Event{Actor: "x", Action: "privileged"})
	var ae *AppendError
	if !errors.As(err, &ae) {
		t.Fatalf("append under a held lock: %v", err)
	}
	conn.ExecContext(context.Background(), `ROLLBACK`)
	conn.Close()
	if h, _ := f.log.Head(context.Background()); h.Seq != 1 {
		t.Fatalf("failed append left entries: %+v", h)
	}
	if _, err := f.log.Append(context.Background(), Event{Actor: "x", Action: "after"}); err != nil {
		t.Fatalf("append after the lock is released: %v", err)
	}
}

func TestAppendFailsOnReadOnlyDatabase(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to read-only files; TestAppendFailsClosed covers the lock case")
	}
	f := newFixture(t)
	f.append(1)
	os.Chmod(f.path, 0o400)
	defer os.Chmod(f.path, 0o600)
	if _, err := f.log.Append(context.Background(), Event{Actor: "x"}); err == nil {
		t.Fatal("append to a read-only database succeeded")
	}
}

func TestCanonicalDetails(t *testing.T) {
	got, err := CanonicalDetails(map[string]any{"b": 1, "a": "x\ny\u0001", "é": true, "c": []any{nil, int64(-2)}, "n": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"x\ny\u0001","b":1,"c":[null,-2],"n":{},"é":true}`; string(got) != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
	if _, err := CanonicalDetails(map[string]any{"f": 1.5}); err == nil {
		t.Fatal("float accepted")
	}
	again, err := Recanonicalize(got)
	if err != nil || string(again) != string(got) {
		t.Fatalf("not a fixed point: %s %v", again, err)
	}
	big, _ := CanonicalDetails(map[string]any{"x": strings.Repeat("a", maxDetails)})
	if !strings.Contains(string(big), `"truncated":true`) {
		t.Fatalf("oversized details kept: %d bytes", len(big))
	}
}

func TestEncodeDecode(t *testing.T) {
	e := Entry{Seq: 42, Time: time.Unix(1, 2).UTC(), Actor: "a", Action: "b", Target: strings.Repeat("t", 300), Outcome: "o", SourceIP: "::1", Details: []byte(`{}`)}
	var d Entry
	if err := d.Decode(e.Encode()); err != nil {
		t.Fatal(err)
	}
	if d.Seq != 42 || !d.Time.Equal(e.Time) || d.Target != e.Target || string(d.Details) != "{}" {
		t.Fatalf("%+v", d)
	}
	if err := d.Decode(append(e.Encode(), 0)); err == nil {
		t.Fatal("trailing bytes accepted")
	}
}

func TestLargePurgeRebuildsTheIndex(t *testing.T) {
	f := newFixture(t)
	fill(t, f, 60000)
	ctx := context.Background()
	if _, err := f.log.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := f.log.EnforceRetention(ctx, 0, 20000); err != nil || n != 40001 {
		t.Fatalf("%d %v", n, err)
	}
	if _, err := f.log.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	// Entries are appended concurrently, so find one that was kept and
	// one that was purged by their sequence numbers.
	res, err := f.log.Search(ctx, Query{Text: "session", Limit: 100000})
	if err != nil || len(res) != 20000-1 {
		t.Fatalf("%d results, %v", len(res), err)
	}
	for _, e := range res {
		if e.Seq <= 40001 {
			t.Fatalf("purged entry %d found", e.Seq)
		}
	}
}

// Retention never deletes entries a forwarding destination has not
// received yet.
func TestRetentionWaitsForForwarding(t *testing.T) {
	f := newFixture(t)
	f.append(10)
	ctx := context.Background()
	f.log.SetRetentionHold("syslog")
	plan, err := f.log.PlanRetention(ctx, 0, 3)
	if err != nil || plan.Count != 0 || len(plan.HeldFor) != 1 {
		t.Fatalf("plan with nothing delivered: %+v %v", plan, err)
	}
	if n, err := f.log.EnforceRetention(ctx, 0, 3); err != nil || n != 0 {
		t.Fatalf("purged %d undelivered entries: %v", n, err)
	}
	if err := f.log.setForwardCursor(ctx, "syslog", 5); err != nil {
		t.Fatal(err)
	}
	if n, err := f.log.EnforceRetention(ctx, 0, 3); err != nil || n != 5 {
		t.Fatalf("purged %d, want the 5 delivered ones: %v", n, err)
	}
	if r := f.verify(); !r.OK {
		t.Fatalf("chain broken after a held purge: %+v", r.Break)
	}
}
