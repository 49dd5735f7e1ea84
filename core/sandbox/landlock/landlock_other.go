//go:build !linux

package landlock

// ABI returns 0: Landlock exists only on Linux.
func ABI() int { return 0 }

// Restrict returns ErrUnsupported: Landlock exists only on Linux.
func Restrict(r Ruleset) (Enforced, error) { return Enforced{}, ErrUnsupported }
