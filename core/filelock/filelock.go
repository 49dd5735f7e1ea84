// Package filelock serializes read-modify-write cycles on a file between
// processes (a CLI command and a running gateway) with an advisory lock on
// a sidecar lock file.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Lock is a held lock; Unlock releases it.
type Lock struct {
	f *os.File
}

// errWouldBlock is returned by tryLock when another holder has the lock.
var errWouldBlock = errors.New("lock held by another process")

// Acquire takes an exclusive lock on path (created 0600 if missing), waiting
// until ctx is done.
func Acquire(ctx context.Context, path string) (*Lock, error) {
	// Never through a link: a lock file is created in the state dir,
	// and a planted link would make it create or truncate its target.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|oNoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	delay := time.Millisecond
	for {
		err := tryLock(f)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, errWouldBlock) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlock(l.f)
	cerr := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	return cerr
}
