package statedir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Warden opens the files in its state directory without following symbolic
// links. The directory is private, but a link planted in it (by a restored
// backup, a sync tool, another program running as the same user) would
// otherwise redirect the database, the secret store or their sidecar files
// to any file the user can write, and Warden would create, read or
// overwrite that file instead. The state directory itself may be a link
// (moved to another disk); only the files in it are checked.

// LinkError refuses a state file that is a symbolic link.
type LinkError struct {
	Path   string // the link
	Target string // where it points, as written in the link
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("%s is a symbolic link to %s: warden does not follow links among its state files", e.Path, e.Target)
}

// Hint tells the user what to do.
func (e *LinkError) Hint() string {
	return "remove the link; Warden's state files must be regular files inside the state dir"
}

// ErrNotRegular is wrapped when a state file is a directory, a pipe, a
// socket or a device: opening a pipe would block, and none of them holds
// what Warden expects.
var ErrNotRegular = errors.New("not a regular file")

// CheckFile makes sure that path, if it exists, is a regular file and not a
// symbolic link. A missing file passes: it is created later without
// following links.
func CheckFile(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	return checkInfo(path, fi)
}

func checkInfo(path string, fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(path)
		if err != nil {
			target = "an unreadable target"
		}
		return &LinkError{Path: path, Target: target}
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, kind(fi.Mode()))
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.Type().String()
}

// CheckFiles runs CheckFile on each name in dir and returns the first
// refusal. A dir that does not exist or is no directory has no files to
// check; Prepare reports it.
func CheckFiles(dir string, names ...string) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil
	}
	for _, n := range names {
		if err := CheckFile(filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	return nil
}

// OpenFile is os.OpenFile for a state file: it never opens through a
// symbolic link in the file's own name and accepts only regular files.
// On Unix the open itself carries O_NOFOLLOW, so a link planted between
// the check and the open fails the open instead of being followed, and
// O_CREATE never creates a file at a link's target.
func OpenFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	if err := CheckFile(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, flag|oNoFollow, perm)
	if err != nil {
		// The open fails on a link (ELOOP on Linux, other codes
		// elsewhere): say so rather than show the raw errno.
		if lerr := CheckFile(path); lerr != nil {
			return nil, lerr
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if err := checkInfo(path, fi); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// ReadFile reads a state file with OpenFile's checks.
func ReadFile(path string) ([]byte, error) {
	f, err := OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}
