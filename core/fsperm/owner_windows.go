//go:build windows

package fsperm

import "io/fs"

// On Windows access is governed by ACLs, which the user profile directories
// already restrict to their owner; modes are not meaningful.
func ownedByCurrentUser(fs.FileInfo) bool { return true }

func chmod(string, fs.FileMode) error { return nil }

func modesSupported() bool { return false }
