package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// privateMode is the permission of the database file and, because SQLite
// copies the main file's mode, of its -wal and -shm files.
const privateMode fs.FileMode = 0o600

// preparePrivateFile makes sure path exists as a regular file that only its
// owner can read before SQLite opens it. SQLite would otherwise create it
// with 0644 (less the umask), and the -wal and -shm files inherit the main
// file's mode. Existing files with group or other bits, including leftover
// sidecar files, are tightened to 0600. Permissions are not changed on
// Windows, where Unix mode bits do not apply.
func preparePrivateFile(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database directory %s does not exist (it must be created first): %w", dir, err)
	}
	if err != nil {
		return fmt.Errorf("check database directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("database directory %s is not a directory", dir)
	}

	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, privateMode)
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat database file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("database file %s is not a regular file", path)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(privateMode); err != nil {
			return fmt.Errorf("restrict database file permissions: %w", err)
		}
	}
	// Files SQLite keeps next to the database, possibly left over with a
	// looser mode from before the main file was tightened.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := tightenIfLoose(path + suffix); err != nil {
			return err
		}
	}
	return nil
}

// tightenIfLoose chmods an existing regular file with group or other
// permission bits to 0600. A missing file is not an error.
func tightenIfLoose(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, privateMode); err != nil {
		return fmt.Errorf("restrict permissions of %s: %w", path, err)
	}
	return nil
}
