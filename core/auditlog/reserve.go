package auditlog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
)

// ReserveFileName is the file in the state dir that keeps disk space for
// the audit log.
const ReserveFileName = "audit.reserve"

// DefaultReserveBytes is the room kept: some 50,000 entries.
const DefaultReserveBytes = 32 << 20

// reserve is disk space set aside for the log. Everything the gateway
// does is refused when the log cannot record it (fail closed), so a disk
// that something else fills (a command's output, another program's logs)
// would stop the gateway entirely. A file allocated in advance holds the
// space; when a commit finds the disk full, the file is removed and the
// commit retried in the room it leaves.
type reserve struct {
	mu   sync.Mutex
	path string
	size int64
}

// KeepReserve sets size bytes aside at path for the log (allocating them
// now if the file is missing and the disk has room); warden serve calls it
// at start and then periodically, to put the room back once it was used
// and space is free again. It reports whether the reserve is in place.
func (l *Log) KeepReserve(path string, size int64) (bool, error) {
	r := &l.reserve
	r.mu.Lock()
	defer r.mu.Unlock()
	if size <= 0 {
		size = DefaultReserveBytes
	}
	r.path, r.size = path, size
	fi, err := os.Lstat(path)
	switch {
	case err == nil && fi.Mode().IsRegular() && fi.Size() >= size:
		return true, nil
	case err == nil && !fi.Mode().IsRegular():
		return false, fmt.Errorf("audit log reserve %s is not a regular file", path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("audit log reserve %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|oNoFollow, 0o600)
	if err != nil {
		return false, fmt.Errorf("audit log reserve %s: %w", path, err)
	}
	err = allocate(f, size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		if errors.Is(err, syscall.ENOSPC) {
			return false, nil // no room yet: the next call tries again
		}
		return false, fmt.Errorf("allocate audit log reserve %s: %w", path, err)
	}
	return true, nil
}

// release frees the reserve; false when there was none to free.
func (r *reserve) release() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.path == "" {
		return false
	}
	return os.Remove(r.path) == nil
}

// diskFull reports whether err says the disk is full: ENOSPC, or SQLite's
// SQLITE_FULL.
func diskFull(err error) bool {
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code()&0xff == 13 { // SQLITE_FULL
		return true
	}
	return strings.Contains(err.Error(), "database or disk is full")
}
