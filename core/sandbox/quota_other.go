//go:build !unix

package sandbox

import "io/fs"

type fileID struct{}

func statOf(fi fs.FileInfo) (fileID, int64, uint64) { return fileID{}, fi.Size(), 1 }

// FreeSpace is unknown here (-1).
func FreeSpace(string) (int64, error) { return -1, nil }
