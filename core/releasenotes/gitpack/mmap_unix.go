//go:build unix

package gitpack

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps f read-only; the pages are read on first touch, so a scan
// that looks at part of a large pack reads only that part.
func mapFile(f *os.File, size int) ([]byte, func() error, error) {
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return unix.Munmap(b) }, nil
}
