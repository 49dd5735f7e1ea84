//go:build linux

package runner

import (
	"context"

	"github.com/warden-sec/warden/core/sandbox"
)

// runHost runs a command on the host (the owner's main session in mode
// non-main, or everything in mode off), contained the way a sandboxed
// command is minus the confinement: under an init of its own in a PID
// namespace, so that its end, the timeout or the quota ends everything
// it started, including what forked and called setsid. Its directory,
// HOME and environment are the ones the runner chose (see hostSpec).
func runHost(ctx context.Context, spec sandbox.Spec) (sandbox.Result, error) {
	return sandbox.RunHost(ctx, spec)
}
