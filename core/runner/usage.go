package runner

import (
	"sync"
	"time"

	"github.com/warden-sec/warden/core/sandbox"
)

// usageCache keeps the shared workspace's last measured usage, so that
// a command's quota check does not walk the workspace on the request's
// path: the walk is made once when needed, then again in the background
// after every run that could have changed it. Writes of commands still
// running are not in it; each of those is bounded by its own watcher.
type usageCache struct {
	mu        sync.Mutex
	u         sandbox.Usage
	at        time.Time // when u was measured; zero: never
	measuring bool
	again     bool          // a run ended during the measurement: measure once more
	done      chan struct{} // closed when the measurement under way ends
	wg        sync.WaitGroup
}

// usageMaxAge bounds how old a measurement may be before a check walks
// the workspace itself (files can change outside Warden too).
const usageMaxAge = 5 * time.Minute

// check checks a run's start against q with the cached usage; a refusal
// is confirmed with a fresh walk first (files may have been removed
// outside Warden since). It returns the usage the decision used.
func (c *usageCache) check(dir string, q sandbox.Quota) (sandbox.Usage, error) {
	u, err := c.get(dir, q, false)
	if err == nil {
		if err = q.CheckUsage(dir, u); err != nil {
			if u, err = c.get(dir, q, true); err == nil {
				err = q.CheckUsage(dir, u)
			}
		}
	}
	return u, err
}

// get returns the usage of dir, measuring it now when there is no recent
// measurement (or when fresh asks for one), and the free space always
// (one statfs).
func (c *usageCache) get(dir string, q sandbox.Quota, remeasure bool) (sandbox.Usage, error) {
	c.mu.Lock()
	// A run ended and its effect is being measured: that measurement,
	// not the one before the run, is the workspace's usage.
	for c.measuring {
		done := c.done
		c.mu.Unlock()
		<-done
		c.mu.Lock()
	}
	u, fresh := c.u, !remeasure && !c.at.IsZero() && time.Since(c.at) < usageMaxAge
	c.mu.Unlock()
	if !fresh {
		var err error
		if u, err = sandbox.Measure(dir, false); err != nil {
			return u, err
		}
		c.mu.Lock()
		c.u, c.at = u, time.Now()
		c.mu.Unlock()
	}
	u.Free = -1
	if q.Reserve > 0 {
		free, err := sandbox.FreeSpace(dir)
		if err != nil {
			return u, err
		}
		u.Free = free
	}
	return u, nil
}

// changed measures dir again in the background after a run; runs that
// end while a measurement is under way share one more.
func (c *usageCache) changed(dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.measuring {
		c.again = true
		return
	}
	c.measuring = true
	c.done = make(chan struct{})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			u, err := sandbox.Measure(dir, false)
			c.mu.Lock()
			if err == nil {
				c.u, c.at = u, time.Now()
			} else {
				c.at = time.Time{} // the next check measures itself
			}
			if !c.again {
				c.measuring = false
				close(c.done)
				c.mu.Unlock()
				return
			}
			c.again = false
			c.mu.Unlock()
		}
	}()
}

// wait waits for a background measurement.
func (c *usageCache) wait() { c.wg.Wait() }
