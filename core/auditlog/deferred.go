package auditlog

import (
	"context"
	"sync"
)

// A Deferred holds events that may wait for the next Append made with the
// same context: that Append writes them in its own transaction, ahead of
// its event, so both are durable after one commit instead of two. The
// gateway defers the record of a token's use on a route whose handler
// always records its action before performing it (exec): the command
// still only starts once both entries are durable.
//
// Whatever is still held when the request answers is written by Flush;
// a caller that cannot flush must not answer.
type Deferred struct {
	mu     sync.Mutex
	events []Event
}

type deferredKey struct{}

// WithDeferred returns a context that carries a new Deferred.
func WithDeferred(ctx context.Context) (context.Context, *Deferred) {
	d := &Deferred{}
	return context.WithValue(ctx, deferredKey{}, d), d
}

// DeferredFrom returns the Deferred ctx carries, or nil.
func DeferredFrom(ctx context.Context) *Deferred {
	d, _ := ctx.Value(deferredKey{}).(*Deferred)
	return d
}

// Add holds ev until the next Append with d's context, or Flush.
func (d *Deferred) Add(ev Event) {
	d.mu.Lock()
	d.events = append(d.events, ev)
	d.mu.Unlock()
}

// Held reports how many events wait.
func (d *Deferred) Held() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.events)
}

// take removes and returns the held events, oldest first.
func (d *Deferred) take() []Event {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	evs := d.events
	d.events = nil
	return evs
}

// Appender is what Flush writes through (*Log, or a wrapper of it that
// passes the context on).
type Appender interface {
	Append(ctx context.Context, ev Event) (Entry, error)
}

// Flush makes the held events durable through a, in their order, with
// ctx (which must carry d). An error means none of them was recorded.
func (d *Deferred) Flush(ctx context.Context, a Appender) error {
	d.mu.Lock()
	n := len(d.events)
	if n == 0 {
		d.mu.Unlock()
		return nil
	}
	// The last one goes through Append, which takes the others from ctx
	// and writes them first.
	last := d.events[n-1]
	d.events = d.events[:n-1]
	d.mu.Unlock()
	if _, err := a.Append(ctx, last); err != nil {
		return err
	}
	// An appender not backed by a Log leaves the others held: record
	// them one at a time (after the last, which is only a question of
	// order for such appenders).
	for _, ev := range d.take() {
		if _, err := a.Append(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}
