//go:build linux

package auditlog

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/warden-sec/warden/core/store"
)

// A full disk refuses nothing the log must record: the log uses the room
// it kept, then keeps it again once there is space.
func TestFullDiskUsesTheReserve(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts a small tmpfs, which needs root (scripts/test runs as root)")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=24m,mode=0700"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(dir, "warden.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := make([]byte, KeySize)
	rand.Read(key)
	l, err := Open(ctx, db, key, Options{HeadFile: filepath.Join(dir, HeadFileName), IndexPath: filepath.Join(t.TempDir(), "index.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	res := filepath.Join(dir, ReserveFileName)
	if ok, err := l.KeepReserve(res, 4<<20); !ok || err != nil {
		t.Fatalf("reserve: %v %v", ok, err)
	}
	if _, err := l.Append(ctx, Event{Actor: "system", Action: "start"}); err != nil {
		t.Fatal(err)
	}
	// Fill the disk, as a runaway command or another program could.
	fill, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for {
		if _, err := fill.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	fill.Close()
	// Enough entries to need new pages in the database.
	big := make([]byte, 16<<10)
	for i := range big {
		big[i] = 'x'
	}
	for i := range 100 {
		if _, err := l.Append(ctx, Event{Actor: "token:agent", Action: "sandbox.exec", Details: map[string]any{"n": i, "out": string(big)}}); err != nil {
			t.Fatalf("append %d on a full disk: %v", i, err)
		}
	}
	if _, err := os.Stat(res); !os.IsNotExist(err) {
		t.Fatalf("the reserve was not used: %v", err)
	}
	if ok, _ := l.KeepReserve(res, 4<<20); ok {
		t.Fatal("a reserve allocated on a full disk")
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.KeepReserve(res, 4<<20); !ok || err != nil {
		t.Fatalf("the reserve is not kept again once there is room: %v %v", ok, err)
	}
	if rep, err := l.Verify(ctx, 1); err != nil || !rep.OK {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}
