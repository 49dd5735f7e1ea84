package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"
)

// Quota bounds what commands may keep in a workspace. The file system
// gives no per-directory limit that works everywhere without root and a
// prepared disk (project quotas, a loop-mounted image), so the bound is
// kept by Warden: a run starts only while the workspace is under its
// quota and the disk keeps its reserve, no file it writes may grow past
// the room left in the quota (Spec.FileSizeCap), and a watcher ends the
// run as soon as a sample finds either bound crossed (see WatchQuota).
// Many files written at once can overshoot the quota by what is written
// between two samples of the workspace; the reserve is sampled far more
// often. What the audit log needs is kept apart in any case: it has a
// preallocated reserve of its own (auditlog.Options.ReserveFile).
type Quota struct {
	Bytes   int64 // disk space the workspace's files take (0: no limit)
	Inodes  int64 // files, directories and links (0: no limit)
	Reserve int64 // free space the workspace's file system must keep (0: none)
}

// Zero reports whether no bound is set.
func (q Quota) Zero() bool { return q.Bytes <= 0 && q.Inodes <= 0 && q.Reserve <= 0 }

// Usage is what a workspace holds and what its file system has left.
type Usage struct {
	Bytes  int64 `json:"bytes"`  // allocated on disk (hard links counted once)
	Inodes int64 `json:"inodes"` // entries, the workspace itself included
	Free   int64 `json:"free"`   // bytes available to unprivileged writers; -1 when unknown
}

// Limit names in Result.Limit for the quota.
const (
	LimitWorkspace = "workspace_quota"
	LimitReserve   = "disk_reserve"
)

// QuotaError says which bound a workspace has reached.
type QuotaError struct {
	Dir   string
	Limit string // LimitWorkspace or LimitReserve
	Usage Usage
	Quota Quota
}

func (e *QuotaError) Error() string {
	switch e.Limit {
	case LimitReserve:
		return fmt.Sprintf("the disk holding %s has %s free, below the %s kept for the audit log and database", e.Dir,
			humanBytes(e.Usage.Free), humanBytes(e.Quota.Reserve))
	}
	if e.Quota.Inodes > 0 && e.Usage.Inodes >= e.Quota.Inodes {
		return fmt.Sprintf("workspace %s holds %d files, its quota is %d", e.Dir, e.Usage.Inodes, e.Quota.Inodes)
	}
	return fmt.Sprintf("workspace %s takes %s, its quota is %s", e.Dir, humanBytes(e.Usage.Bytes), humanBytes(e.Quota.Bytes))
}

// ErrQuota matches every *QuotaError with errors.Is.
var ErrQuota = errors.New("workspace quota reached")

func (e *QuotaError) Is(target error) bool { return target == ErrQuota }

// Check measures dir and returns a *QuotaError when it is at or over a
// bound of q (a run would start with no room left).
func (q Quota) Check(dir string) (Usage, error) {
	u, err := Measure(dir, q.Reserve > 0)
	if err != nil {
		return u, err
	}
	return u, q.CheckUsage(dir, u)
}

// CheckUsage is Check with a usage measured before (u.Free < 0: the free
// space is not known, and not checked).
func (q Quota) CheckUsage(dir string, u Usage) error { return q.exceeded(dir, u, true) }

// exceeded reports a crossed bound; atStart counts reaching a bound
// (nothing left for the run), during a run only going over it counts.
func (q Quota) exceeded(dir string, u Usage, atStart bool) error {
	over := func(used, limit int64) bool {
		if limit <= 0 {
			return false
		}
		if atStart {
			return used >= limit
		}
		return used > limit
	}
	switch {
	case q.Reserve > 0 && u.Free >= 0 && u.Free < q.Reserve:
		return &QuotaError{Dir: dir, Limit: LimitReserve, Usage: u, Quota: q}
	case over(u.Bytes, q.Bytes), over(u.Inodes, q.Inodes):
		return &QuotaError{Dir: dir, Limit: LimitWorkspace, Usage: u, Quota: q}
	}
	return nil
}

// Measure walks dir without following links: the space its files take
// on disk and how many entries it has; with free, also the space left on
// its file system.
func Measure(dir string, free bool) (Usage, error) {
	u := Usage{Free: -1}
	seen := map[fileID]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		u.Inodes++
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		id, blocks, links := statOf(fi)
		if links > 1 {
			if seen[id] {
				return nil
			}
			seen[id] = true
		}
		u.Bytes += blocks
		return nil
	})
	if err != nil {
		return u, fmt.Errorf("measure workspace %s: %w", dir, err)
	}
	if free {
		if u.Free, err = FreeSpace(dir); err != nil {
			return u, fmt.Errorf("measure free space at %s: %w", dir, err)
		}
	}
	return u, nil
}

// WatchQuota samples dir until ctx ends and calls stop once, with the
// crossed bound, when a sample finds the workspace over its quota or its
// file system under the reserve. The reserve is read every 10 ms (one
// statfs), so a command writing at page-cache speed eats at most a few
// tens of MiB into it; the workspace is walked every 100 ms, or four
// times as long as a walk takes for workspaces so large that walking
// them costs more.
func WatchQuota(ctx context.Context, dir string, q Quota, stop func(*QuotaError)) {
	if q.Zero() {
		return
	}
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	nextWalk := time.Now().Add(100 * time.Millisecond)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if q.Reserve > 0 {
			if free, err := FreeSpace(dir); err == nil && free >= 0 && free < q.Reserve {
				stop(&QuotaError{Dir: dir, Limit: LimitReserve, Usage: Usage{Free: free}, Quota: q})
				return
			}
		}
		if (q.Bytes <= 0 && q.Inodes <= 0) || time.Now().Before(nextWalk) {
			continue
		}
		start := time.Now()
		u, err := Measure(dir, false)
		if err == nil {
			var qe *QuotaError
			if errors.As(Quota{Bytes: q.Bytes, Inodes: q.Inodes}.exceeded(dir, u, false), &qe) {
				stop(qe)
				return
			}
		}
		nextWalk = time.Now().Add(max(100*time.Millisecond, 4*time.Since(start)))
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
