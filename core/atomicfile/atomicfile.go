// Package atomicfile writes files so that a reader, or a crash, never sees a
// half-written file: the data goes to a temporary file created with the final
// mode in the same directory, is synced to disk, and is renamed over the target.
//
// No byte is ever written through a symbolic link: the temporary file is
// created exclusively under a fresh random name, and renaming it over a
// link replaces the link itself, never the file it points to (with
// NoOverwrite, a link at the target counts as an existing file).
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// ErrExists is returned by Write when the target exists and overwriting was not allowed.
var ErrExists = errors.New("file exists")

// Options tune a write.
type Options struct {
	// Mode is the permission the file is created with (default 0600). The
	// temporary file has it from the moment it exists, so the data is never
	// readable by others, not even briefly.
	Mode os.FileMode
	// NoOverwrite makes Write fail with ErrExists when the target exists.
	NoOverwrite bool
}

// WriteFile atomically replaces path with data, mode 0600.
func WriteFile(path string, data []byte) error {
	return Write(path, data, Options{})
}

// Write atomically replaces path with data.
func Write(path string, data []byte, opts Options) error {
	return WriteFrom(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, opts)
}

// WriteFrom atomically replaces path with what fill writes. If fill fails,
// the target is left untouched and the temporary file removed.
func WriteFrom(path string, fill func(w io.Writer) error, opts Options) (err error) {
	mode := opts.Mode
	if mode == 0 {
		mode = 0o600
	}
	dir := filepath.Dir(path)
	if opts.NoOverwrite {
		if _, statErr := os.Lstat(path); statErr == nil {
			return fmt.Errorf("write %s: %w", path, ErrExists)
		}
	}
	tmp, err := createTemp(dir, "."+filepath.Base(path)+".tmp-", mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err = fill(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmpName, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmpName, err)
	}
	if opts.NoOverwrite {
		// Link fails if the target appeared meanwhile, closing the race
		// between the check above and the rename.
		if err = os.Link(tmpName, path); err == nil {
			_ = os.Remove(tmpName)
			return syncDir(dir)
		}
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("write %s: %w", path, ErrExists)
		}
		// Filesystems without hard links: fall back to rename.
	}
	if err = os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return syncDir(dir)
}

// createTemp is os.CreateTemp with an explicit mode: os.CreateTemp always
// uses 0600, which is right for secrets but not for a 0644 report.
func createTemp(dir, prefix string, mode os.FileMode) (*os.File, error) {
	f, err := os.CreateTemp(dir, prefix)
	if err != nil {
		return nil, err
	}
	if mode != 0o600 && runtime.GOOS != "windows" {
		if err := f.Chmod(mode); err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
			return nil, err
		}
	}
	return f, nil
}

// syncDir makes the rename durable. Directories cannot be synced on Windows.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
