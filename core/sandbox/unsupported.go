//go:build !linux

package sandbox

import (
	"context"
	"runtime"
)

// Run reports ErrUnsupported: the sandbox needs Linux.
func Run(ctx context.Context, spec Spec) (Result, error) { return Result{}, ErrUnsupported }

// Pool is unavailable off Linux; its Run reports ErrUnsupported.
type Pool struct{}

// NewPool returns a pool whose Run reports ErrUnsupported.
func NewPool(template Spec, size int) *Pool { return &Pool{} }

// Run reports ErrUnsupported.
func (p *Pool) Run(ctx context.Context, spec Spec) (Result, error) { return Result{}, ErrUnsupported }

// Fill does nothing.
func (p *Pool) Fill() {}

// Ready reports no sandboxes.
func (p *Pool) Ready() (int, error) { return 0, ErrUnsupported }

// Close does nothing.
func (p *Pool) Close() {}

func childMain() {}

// Probe reports that this OS has no sandbox.
func Probe() Host { return Host{OS: runtime.GOOS} }

// RunHost reports ErrUnsupported: PID namespaces need Linux.
func RunHost(ctx context.Context, spec Spec) (Result, error) { return Result{}, ErrUnsupported }
