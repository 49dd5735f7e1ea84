package maintenance

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunSchedulesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var fast, start, slowRunning, overlap atomic.Int32
	var mu sync.Mutex
	var results []Result
	boom := errors.New("boom")
	done := make(chan struct{})
	go func() {
		Run(ctx, []Job{
			{Name: "fast", Every: 10 * time.Millisecond, Run: func(context.Context) error { fast.Add(1); return boom }},
			{Name: "start", Every: time.Hour, AtStart: true, Run: func(context.Context) error { start.Add(1); return nil }},
			{Name: "slow", Every: 5 * time.Millisecond, Run: func(ctx context.Context) error {
				if slowRunning.Add(1) > 1 {
					overlap.Add(1)
				}
				defer slowRunning.Add(-1)
				select {
				case <-time.After(30 * time.Millisecond):
				case <-ctx.Done():
				}
				return nil
			}},
			{Name: "disabled", Every: 0, Run: func(context.Context) error { t.Error("disabled job ran"); return nil }},
		}, func(r Result) { mu.Lock(); results = append(results, r); mu.Unlock() })
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for fast.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if fast.Load() < 3 || start.Load() != 1 || overlap.Load() != 0 {
		t.Fatalf("fast %d start %d overlap %d", fast.Load(), start.Load(), overlap.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	sawErr := false
	for _, r := range results {
		if r.Job == "fast" && errors.Is(r.Err, boom) {
			sawErr = true
		}
	}
	if !sawErr {
		t.Fatal("errors not reported")
	}
}
