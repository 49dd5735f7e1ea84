package auditlog

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func benchEvent(i int) Event {
	return Event{Actor: fmt.Sprintf("user:u%d", i%50), Action: []string{"login", "logout", "token.use", "sandbox.exec", "secret.set"}[i%5],
		Target: fmt.Sprintf("session/%d", i), Outcome: OutcomeSuccess, SourceIP: "127.0.0.1",
		Details: map[string]any{"session": fmt.Sprintf("s%d", i%1000), "ua": "Mozilla/5.0 test agent", "n": i}}
}

// benchAppend measures durable appends with w concurrent writers, sealing
// each commit in a head record as every log opened from a state dir does
// (sealed), or not.
func benchAppend(b *testing.B, w int, sealed bool) {
	f := newFixture
	if sealed {
		f = newSealedFixture
	}
	fx := f(b)
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > b.N {
					return
				}
				if _, err := fx.log.Append(context.Background(), benchEvent(i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

func BenchmarkAppend1(b *testing.B)          { benchAppend(b, 1, true) }
func BenchmarkAppend16(b *testing.B)         { benchAppend(b, 16, true) }
func BenchmarkAppend64(b *testing.B)         { benchAppend(b, 64, true) }
func BenchmarkAppend1Unsealed(b *testing.B)  { benchAppend(b, 1, false) }
func BenchmarkAppend16Unsealed(b *testing.B) { benchAppend(b, 16, false) }
func BenchmarkAppend64Unsealed(b *testing.B) { benchAppend(b, 64, false) }

// fill appends n entries quickly (64 writers).
func fill(b testing.TB, f *fixture, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				f.log.Append(context.Background(), benchEvent(i))
			}
		}()
	}
	wg.Wait()
}

func BenchmarkVerify100k(b *testing.B) {
	f := newFixture(b)
	fill(b, f, 100000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := f.log.Verify(context.Background(), 2)
		if err != nil || !rep.OK {
			b.Fatal(err, rep.Break)
		}
	}
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkHMAC is the bare HMAC-SHA256 cost over entry-sized inputs, the
// ceiling for Verify.
func BenchmarkHMAC(b *testing.B) {
	e := Entry{Seq: 1, Time: time.Now(), Actor: "user:u1", Action: "login", Target: "session/1", Outcome: "success", SourceIP: "127.0.0.1",
		Details: []byte(`{"n":1,"session":"s1","ua":"Mozilla/5.0 test agent"}`)}
	body := e.Encode()
	prev := make([]byte, 32)
	m := hmac.New(sha256.New, make([]byte, 32))
	sum := make([]byte, 0, 32)
	for i := 0; i < b.N; i++ {
		m.Reset()
		m.Write(prev)
		m.Write(body)
		sum = m.Sum(sum[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

func BenchmarkSearch100k(b *testing.B) {
	f := newFixture(b)
	fill(b, f, 100000)
	f.log.IndexPending(context.Background())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.log.Search(context.Background(), Query{Text: fmt.Sprintf("u%d", i%50)}); err != nil {
			b.Fatal(err)
		}
	}
}
