//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"sync"
)

// Pool keeps sandboxes of one shape (workspace, network, limits) set up
// and waiting for a command, so running one skips the set-up: namespaces,
// mounts and cgroups are ready, and only the confinement of the command
// itself (capabilities, Landlock, seccomp, rlimits) and its exec remain.
// Each sandbox is used once; Fill refills the pool in the background.
type Pool struct {
	shape shape
	size  int

	mu      sync.Mutex
	ready   []*proc
	filling int
	closed  bool
	lastErr error
	changed chan struct{}  // closed (and replaced) when a fill ends
	wg      sync.WaitGroup // fills
	cleanup sync.WaitGroup // used sandboxes being discarded
}

// NewPool starts filling a pool of size sandboxes shaped like template
// (its Workspace, WorkspaceExec, Network, Strict and Limits).
func NewPool(template Spec, size int) *Pool {
	p := &Pool{shape: shapeOf(template), size: max(size, 1), changed: make(chan struct{})}
	p.fill()
	return p
}

// Fill starts setting up sandboxes until the pool is full again. Run does
// not refill by itself: setting a sandbox up takes CPU that the command
// and the caller's own work after it (an audit entry) would compete
// with, so the caller calls Fill when it is done with a request.
func (p *Pool) Fill() { p.fill() }

// fill starts set-ups until ready plus filling reaches the pool's size.
func (p *Pool) fill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.closed && len(p.ready)+p.filling < p.size {
		p.filling++
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			pr, err := spawn(context.Background(), p.shape)
			p.mu.Lock()
			p.filling--
			p.lastErr = err
			close(p.changed)
			p.changed = make(chan struct{})
			if err == nil && p.closed {
				p.mu.Unlock()
				pr.discard()
				return
			}
			if err == nil {
				p.ready = append(p.ready, pr)
			}
			p.mu.Unlock()
		}()
	}
}

// Run runs spec in a pooled sandbox when one of its shape is ready, and
// in a new one otherwise.
func (p *Pool) Run(ctx context.Context, spec Spec) (Result, error) {
	if shapeOf(spec).Workspace == "" || !p.matches(spec) {
		return Run(ctx, spec)
	}
	pr, err := p.take(ctx)
	if err != nil {
		return Result{}, err
	}
	if pr == nil {
		return Run(ctx, spec)
	}
	pr.cleanups = &p.cleanup
	return pr.run(ctx, spec)
}

// take returns a ready sandbox, waiting for one being set up rather than
// starting another; nil when none is ready or coming.
func (p *Pool) take(ctx context.Context) (*proc, error) {
	for {
		p.mu.Lock()
		if n := len(p.ready); n > 0 {
			pr := p.ready[n-1]
			p.ready = p.ready[:n-1]
			p.mu.Unlock()
			return pr, nil
		}
		if p.filling == 0 || p.closed {
			p.mu.Unlock()
			return nil, nil
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("sandbox: %w", ctx.Err())
		}
	}
}

func (p *Pool) matches(spec Spec) bool { return shapeOf(spec) == p.shape }

// Ready reports how many sandboxes wait, and the last set-up error.
func (p *Pool) Ready() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ready), p.lastErr
}

// Close discards the waiting sandboxes; running commands are not touched.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	ready := p.ready
	p.ready = nil
	p.mu.Unlock()
	for _, pr := range ready {
		pr.discard()
	}
	p.wg.Wait()
	p.cleanup.Wait()
}
