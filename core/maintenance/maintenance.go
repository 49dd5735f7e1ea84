// Package maintenance runs periodic jobs for warden serve: session cleanup,
// audit retention, checkpoints.
package maintenance

import (
	"context"
	"sync"
	"time"
)

// Job is one periodic task.
type Job struct {
	Name string
	// Every is the interval between runs; the first run is one interval
	// after start unless AtStart is set.
	Every   time.Duration
	AtStart bool
	Run     func(ctx context.Context) error
}

// Result is one finished run, for logging.
type Result struct {
	Job      string
	Err      error
	Duration time.Duration
}

// Run runs jobs until ctx ends, each on its own ticker so a slow job does
// not delay the others; a job never overlaps itself. report, if set, hears
// about every run. Run returns when every job has stopped.
func Run(ctx context.Context, jobs []Job, report func(Result)) {
	var wg sync.WaitGroup
	for _, j := range jobs {
		if j.Every <= 0 || j.Run == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			once := func() {
				start := time.Now()
				err := j.Run(ctx)
				if report != nil && ctx.Err() == nil {
					report(Result{Job: j.Name, Err: err, Duration: time.Since(start)})
				}
			}
			if j.AtStart {
				once()
			}
			t := time.NewTicker(j.Every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					once()
				}
			}
		}()
	}
	wg.Wait()
}
