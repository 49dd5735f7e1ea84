//go:build !unix

package runner

import (
	"context"

	"github.com/warden-sec/warden/core/sandbox"
)

// runHost is unavailable off Unix.
func runHost(ctx context.Context, spec sandbox.Spec) (sandbox.Result, error) {
	return sandbox.Result{}, sandbox.ErrUnsupported
}
