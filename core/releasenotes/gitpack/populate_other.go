//go:build !linux

package gitpack

// populate does nothing where the kernel has no such advice.
func populate([]byte) {}
