package auditlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/store"
)

func newSealedFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, path: filepath.Join(dir, "warden.db"), head: filepath.Join(dir, HeadFileName), key: make([]byte, KeySize),
		now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	rand.Read(f.key)
	f.open(store.Options{})
	return f
}

// reopen closes the log and opens it again, as the next command would.
func (f *fixture) reopen() {
	f.t.Helper()
	f.log.Close()
	f.db.Close()
	f.open(store.Options{})
}

func (f *fixture) readHeadFile() []byte {
	f.t.Helper()
	b, err := os.ReadFile(f.head)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) writeHeadFile(b []byte) {
	f.t.Helper()
	if err := os.WriteFile(f.head, b, 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// wantBreakText is wantBreak that also checks the reason's wording.
func (f *fixture) wantBreakText(seq uint64, kind, reason string) Report {
	f.t.Helper()
	rep := f.verify()
	if rep.OK || rep.Break == nil || rep.Break.Seq != seq || rep.Break.Kind != kind || !strings.Contains(rep.Break.Reason, reason) {
		f.t.Fatalf("verify = %+v (break %+v), want %s at %d saying %q", rep, rep.Break, kind, seq, reason)
	}
	return rep
}

func (f *fixture) wantOK() Report {
	f.t.Helper()
	rep := f.verify()
	if !rep.OK {
		f.t.Fatalf("verify = %+v (break %+v)", rep, rep.Break)
	}
	return rep
}

// seals lists the audit.seal entries in the chain by what they found.
func (f *fixture) seals() []string {
	f.t.Helper()
	var got []string
	err := f.log.Each(context.Background(), 0, time.Time{}, func(e Entry) error {
		if e.Action == ActionSeal {
			got = append(got, fmt.Sprintf("%d:%s", e.Seq, parseSeal(e).found))
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

func TestHeadRecordFormat(t *testing.T) {
	key := make([]byte, KeySize)
	rand.Read(key)
	s := newSealer("audit.head", key)
	if bytes.Equal(s.key, key) {
		t.Fatal("the head record is MACed with the audit key itself")
	}
	rec := headRecord{seq: 57, since: 3, hash: bytes.Repeat([]byte{7}, 32)}
	enc := s.encode(rec)
	if len(enc) != headRecLen {
		t.Fatalf("%d bytes", len(enc))
	}
	got, ok := s.decode(enc)
	if !ok || got.seq != 57 || got.since != 3 || !bytes.Equal(got.hash, rec.hash) {
		t.Fatalf("%+v %v", got, ok)
	}
	for i := range enc {
		bad := bytes.Clone(enc)
		bad[i] ^= 1
		if _, ok := s.decode(bad); ok {
			t.Fatalf("a flipped bit at byte %d went unnoticed", i)
		}
	}
	// A record MACed with the raw audit key (or another log's key) is not
	// accepted.
	if _, ok := (&sealer{key: key}).decode(enc); ok {
		t.Fatal("decoded with the raw audit key")
	}
}

func TestSealedNewLog(t *testing.T) {
	f := newSealedFixture(t)
	if _, err := os.Stat(f.head); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("opening wrote the head record: %v", err)
	}
	if rep := f.wantOK(); rep.Sealed != nil || len(rep.Notes) != 0 {
		t.Fatalf("empty log: %+v", rep)
	}
	f.append(5)
	fi, err := os.Stat(f.head)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("head record: %v %v", fi, err)
	}
	if got := f.seals(); len(got) != 1 || got[0] != "1:start" {
		t.Fatalf("seal entries %v", got)
	}
	rep := f.wantOK()
	if rep.Entries != 6 || rep.Sealed == nil || rep.Sealed.Seq != 6 || rep.Sealed.Hash != rep.HeadHash || rep.Sealed.Since != 1 {
		t.Fatalf("%+v %+v", rep, rep.Sealed)
	}
	// Later commits and later opens add no seal entry.
	f.reopen()
	f.append(3)
	if got := f.seals(); len(got) != 1 {
		t.Fatalf("seal entries %v", got)
	}
	if rep := f.wantOK(); rep.Sealed.Seq != 9 {
		t.Fatalf("sealed %+v", rep.Sealed)
	}
}

func TestSealedHeadNamesACutTail(t *testing.T) {
	f := newSealedFixture(t)
	f.append(57) // entries 2 to 58 after the audit.seal entry
	f.raw(`DELETE FROM audit_log WHERE seq > 40`)
	rep := f.wantBreakText(41, BreakTruncated, "entries 41 to 58 are missing from the end of the log (the sealed head record is at 58)")
	if rep.Sealed == nil || rep.Sealed.Seq != 58 {
		t.Fatalf("sealed %+v", rep.Sealed)
	}
	// One entry less is named as well.
	f2 := newSealedFixture(t)
	f2.append(9)
	f2.raw(`DELETE FROM audit_log WHERE seq = 10`)
	f2.wantBreakText(10, BreakTruncated, "entries 10 are missing from the end of the log (the sealed head record is at 10)")

	// The next append cannot hide the cut: the commit finds it and
	// records it in the chain, where it stays.
	f.reopen()
	if _, err := f.log.Append(context.Background(), Event{Actor: "x", Action: "after"}); err != nil {
		t.Fatal(err)
	}
	if got := f.seals(); len(got) != 2 || got[1] != "41:truncated" {
		t.Fatalf("seal entries %v", got)
	}
	f.append(30) // past the old head, with the head record rewritten
	f.wantBreakText(41, BreakTruncated, "entries 41 to 58 were missing from the end of the log when entry 41 was written (the sealed head record was at 58)")
}

func TestSealedHeadParallelVerify(t *testing.T) {
	f := newSealedFixture(t)
	fill(t, f, 25000)
	rep, err := f.log.Verify(context.Background(), 2)
	if err != nil || !rep.OK || rep.Sealed == nil || rep.Sealed.Seq != 25001 {
		t.Fatalf("%+v %+v %v", rep, rep.Break, err)
	}
	f.raw(`DELETE FROM audit_log WHERE seq > 24000`)
	rep, err = f.log.Verify(context.Background(), 2)
	if err != nil || rep.OK || rep.Break.Kind != BreakTruncated || rep.Break.Seq != 24001 {
		t.Fatalf("%+v %+v %v", rep, rep.Break, err)
	}
}

func TestSealedHeadAltered(t *testing.T) {
	f := newSealedFixture(t)
	f.append(10)
	b := f.readHeadFile()
	for _, off := range []int{headRecLen - 1, headSlotSize + headRecLen - 1} {
		b[off] ^= 0x80 // the MAC of each slot
	}
	f.writeHeadFile(b)
	f.wantBreakText(12, BreakHeadAltered, "head record altered: audit.head does not carry a valid MAC")

	// A forged record (another key, as from another installation) is no
	// better.
	other := newSealer(f.head, bytes.Repeat([]byte{1}, KeySize))
	if err := other.create(headRecord{seq: 11}); err != nil {
		t.Fatal(err)
	}
	f.wantBreakText(12, BreakHeadAltered, "head record altered")

	// The next commit rewrites the record, and the chain keeps the finding.
	f.append(1)
	if got := f.seals(); len(got) != 2 || got[1] != "12:altered" {
		t.Fatalf("seal entries %v", got)
	}
	f.wantBreakText(12, BreakHeadAltered, "head record altered: it no longer carried a valid MAC when entry 12 was written")
	if hr, err := f.log.seal.read(); err != nil || hr.state != headValid || hr.rec.seq != 13 {
		t.Fatalf("rewritten record %+v %v", hr, err)
	}
}

func TestSealedHeadDeleted(t *testing.T) {
	f := newSealedFixture(t)
	f.append(10)
	if err := os.Remove(f.head); err != nil {
		t.Fatal(err)
	}
	f.wantBreakText(12, BreakHeadMissing, "head record missing: audit.head is gone from a sealed log")

	// Cutting the tail as well changes nothing, and a new record written by
	// the next commit does not clear it.
	f.raw(`DELETE FROM audit_log WHERE seq > 8`)
	f.wantBreakText(9, BreakHeadMissing, "head record missing")
	f.reopen()
	f.append(5)
	if got := f.seals(); len(got) != 2 || got[1] != "9:missing" {
		t.Fatalf("seal entries %v", got)
	}
	f.wantBreakText(9, BreakHeadMissing, "head record missing when entry 9 was written")
}

// A torn write damages one slot; the other one still holds a record, one
// commit older, and the chain beyond it is accepted.
func TestSealedHeadTornSlot(t *testing.T) {
	for _, damage := range []string{"garbage", "zeros", "half"} {
		t.Run(damage, func(t *testing.T) {
			f := newSealedFixture(t)
			f.append(4)
			f.append(1)
			hr, err := f.log.seal.read()
			if err != nil || hr.state != headValid || hr.rec.seq != 6 {
				t.Fatalf("%+v %v", hr, err)
			}
			b := f.readHeadFile()
			slot := b[hr.slot*headSlotSize : hr.slot*headSlotSize+headRecLen]
			switch damage {
			case "garbage":
				rand.Read(slot)
			case "zeros":
				clear(slot)
			case "half":
				clear(slot[headRecLen/2:])
			}
			f.writeHeadFile(b)
			rep := f.wantOK()
			if rep.Sealed == nil || rep.Sealed.Seq != 5 {
				t.Fatalf("sealed %+v", rep.Sealed)
			}
			// The next commit writes over the damaged slot and records
			// nothing: the log is intact.
			f.append(1)
			if got := f.seals(); len(got) != 1 {
				t.Fatalf("seal entries %v", got)
			}
			if rep := f.wantOK(); rep.Sealed.Seq != 7 {
				t.Fatalf("sealed %+v", rep.Sealed)
			}
		})
	}
}

// Entries committed after the head record was last written (a crash
// between the commit and the record's update) verify, and the next commit
// seals them.
func TestSealedHeadCrashWindow(t *testing.T) {
	f := newSealedFixture(t)
	f.append(5)
	old := f.readHeadFile()
	f.append(3)
	f.writeHeadFile(old)
	rep := f.wantOK()
	if rep.Sealed.Seq != 6 || rep.Last != 9 {
		t.Fatalf("%+v %+v", rep, rep.Sealed)
	}
	f.reopen()
	f.append(1)
	if got := f.seals(); len(got) != 1 {
		t.Fatalf("seal entries %v", got)
	}
	if rep := f.wantOK(); rep.Sealed.Seq != 10 {
		t.Fatalf("sealed %+v", rep.Sealed)
	}

	// A crash after the head file was created for the first commit but
	// before that commit completed leaves a record without since: the next
	// commit finds the audit.seal entry that follows it, or writes one.
	g := newSealedFixture(t)
	g.append(3)
	if err := g.log.seal.create(headRecord{seq: 0, hash: genesis}); err != nil {
		t.Fatal(err)
	}
	g.wantOK()
	g.append(1)
	if got := g.seals(); len(got) != 1 {
		t.Fatalf("seal entries %v", got)
	}
	if rep := g.wantOK(); rep.Sealed.Since != 1 {
		t.Fatalf("sealed %+v", rep.Sealed)
	}
}

// A log from before sealing gets its head record and an audit.seal entry
// with its first commit; from then on deleting the record is caught.
func TestSealingStartsOnAnOlderLog(t *testing.T) {
	f := newFixture(t)
	f.append(20)
	f.head = filepath.Join(filepath.Dir(f.path), HeadFileName)
	f.reopen()
	rep := f.wantOK()
	if rep.Sealed != nil || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "no sealed head record yet") {
		t.Fatalf("%+v", rep)
	}
	f.append(1)
	if got := f.seals(); len(got) != 1 || got[0] != "21:start" {
		t.Fatalf("seal entries %v", got)
	}
	if rep := f.wantOK(); rep.Sealed.Seq != 22 || rep.Sealed.Since != 21 {
		t.Fatalf("sealed %+v", rep.Sealed)
	}
	os.Remove(f.head)
	f.wantBreakText(23, BreakHeadMissing, "head record missing")
}

func TestSealedHeadSurvivesRetention(t *testing.T) {
	f := newSealedFixture(t)
	ctx := context.Background()
	f.append(10)
	f.now = f.now.Add(40 * 24 * time.Hour)
	f.append(10)
	// The purge deletes the audit.seal entry (seq 1) that started sealing.
	if n, err := f.log.EnforceRetention(ctx, 30, 0); err != nil || n != 11 {
		t.Fatalf("%d %v", n, err)
	}
	rep := f.wantOK()
	if rep.First != 12 || rep.Purges != 1 || rep.Sealed == nil || rep.Sealed.Seq != 22 {
		t.Fatalf("%+v %+v", rep, rep.Sealed)
	}
	res, err := f.log.Search(ctx, Query{Action: ActionRetentionPurge})
	if err != nil || len(res) != 1 || !strings.Contains(string(res[0].Details), `"head_sealed":true`) {
		t.Fatalf("%v %v", res, err)
	}
	// By count: 20 to 23 stay, the second purge entry last.
	if n, err := f.log.EnforceRetention(ctx, 0, 4); err != nil || n != 8 {
		t.Fatalf("%d %v", n, err)
	}
	if rep := f.wantOK(); rep.First != 20 || rep.Sealed.Seq != 23 {
		t.Fatalf("%+v %+v", rep, rep.Sealed)
	}
	// Cutting the tail after a purge is caught as before.
	pristine, head := f.snapshot()
	f.append(5)
	f.raw(`DELETE FROM audit_log WHERE seq > 25`)
	f.wantBreakText(26, BreakTruncated, "entries 26 to 28 are missing from the end of the log (the sealed head record is at 28)")
	f.restore(pristine, head)
	f.wantOK()
	// The purge entry still says the log is sealed: deleting the head
	// record is no way out, neither before nor after the next commit.
	os.Remove(f.head)
	f.wantBreakText(24, BreakHeadMissing, "head record missing")
	f.reopen()
	f.append(1)
	if got := f.seals(); len(got) != 1 || got[0] != "24:missing" {
		t.Fatalf("seal entries %v", got)
	}
	f.wantBreakText(24, BreakHeadMissing, "head record missing when entry 24 was written")
}

// snapshot copies the database and the head record, closing the log
// first; restore puts both back and reopens: a rollback of the whole
// state dir, which only an external checkpoint can tell.
func (f *fixture) snapshot() (db, head []byte) {
	f.t.Helper()
	f.log.Close()
	f.db.Close()
	db, err := os.ReadFile(f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	head = f.readHeadFile()
	f.open(store.Options{})
	return db, head
}

func (f *fixture) restore(db, head []byte) {
	f.t.Helper()
	f.log.Close()
	f.db.Close()
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(f.path + suffix)
	}
	if err := os.WriteFile(f.path, db, 0o600); err != nil {
		f.t.Fatal(err)
	}
	f.writeHeadFile(head)
	f.open(store.Options{})
}

// The entry a head record names must carry the hash the record holds.
func TestSealedHeadMismatch(t *testing.T) {
	f := newSealedFixture(t)
	f.append(10)
	if err := f.log.seal.create(headRecord{seq: 8, since: 1, hash: bytes.Repeat([]byte{9}, 32)}); err != nil {
		t.Fatal(err)
	}
	f.wantBreakText(8, BreakHeadMismatch, "its hash differs from the sealed head record")
	f.append(1)
	if got := f.seals(); len(got) != 2 || got[1] != "12:mismatch" {
		t.Fatalf("seal entries %v", got)
	}
	f.wantBreakText(12, BreakHeadMismatch, "entry 8 differed from the sealed head record when entry 12 was written")
}

func TestSealedTwoProcessesShareTheHead(t *testing.T) {
	f := newSealedFixture(t)
	db2, err := store.Open(context.Background(), store.Options{Path: f.path})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	l2, err := Open(context.Background(), db2, f.key, Options{HeadFile: f.head})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	var wg sync.WaitGroup
	for _, l := range []*Log{f.log, l2} {
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(l *Log) {
				defer wg.Done()
				for i := 0; i < 40; i++ {
					if _, err := l.Append(context.Background(), Event{Actor: "x", Action: "y"}); err != nil {
						t.Error(err)
						return
					}
				}
			}(l)
		}
	}
	wg.Wait()
	rep := f.wantOK()
	if rep.Entries != 641 || rep.Sealed == nil || rep.Sealed.Seq != 641 {
		t.Fatalf("%+v %+v", rep, rep.Sealed)
	}
	if got := f.seals(); len(got) != 1 {
		t.Fatalf("seal entries %v", got)
	}
}

// An append is acknowledged only once the head record holds it.
func TestSealedAppendFailsClosed(t *testing.T) {
	t.Run("head file unusable", func(t *testing.T) {
		f := newSealedFixture(t)
		f.append(2)
		os.Remove(f.head)
		if err := os.Mkdir(f.head, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := f.log.Append(context.Background(), Event{Actor: "x", Action: "privileged"})
		var ae *AppendError
		if !errors.As(err, &ae) {
			t.Fatalf("append: %v", err)
		}
		if h, _ := f.log.Head(context.Background()); h.Seq != 3 {
			t.Fatalf("the failed append left entries: %+v", h)
		}
	})
	t.Run("head write fails after the commit", func(t *testing.T) {
		f := newSealedFixture(t)
		f.append(2)
		f.log.seal.sync = func(*os.File) error { return errors.New("input/output error") }
		f.log.seal.lastSync.Store(0) // a flush is due
		_, err := f.log.Append(context.Background(), Event{Actor: "x", Action: "privileged"})
		var ae *AppendError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), "seal the audit log head: sync audit head record: input/output error") {
			t.Fatalf("append: %v", err)
		}
		// The entry stays, as after a crash before the record was written;
		// the next commit seals it.
		f.log.seal.sync = syncData
		f.append(1)
		if rep := f.wantOK(); rep.Sealed.Seq != 5 || rep.Last != 5 {
			t.Fatalf("%+v %+v", rep, rep.Sealed)
		}
	})
	t.Run("head record is a link", func(t *testing.T) {
		f := newSealedFixture(t)
		f.append(2)
		target := filepath.Join(t.TempDir(), "elsewhere")
		os.WriteFile(target, []byte("keep me"), 0o600)
		os.Remove(f.head)
		if err := os.Symlink(target, f.head); err != nil {
			t.Fatal(err)
		}
		_, err := f.log.Append(context.Background(), Event{Actor: "x", Action: "privileged"})
		var ae *AppendError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), "is a symbolic link") {
			t.Fatalf("append: %v", err)
		}
		if _, err := f.log.Verify(context.Background(), 1); err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
			t.Fatalf("verify: %v", err)
		}
		if b, _ := os.ReadFile(target); string(b) != "keep me" {
			t.Fatalf("the link's target was written: %q", b)
		}
	})
}

// Ordinary commits flush the record at most once per headSyncEvery (the
// database's fsync is the one per commit); a start flushes it.
func TestSealedHeadFlushesAtMostOncePerInterval(t *testing.T) {
	f := newSealedFixture(t)
	var syncs atomic.Int64
	f.log.seal.sync = func(fl *os.File) error { syncs.Add(1); return syncData(fl) }
	f.append(1) // the start: flushed
	if n := syncs.Load(); n != 1 {
		t.Fatalf("%d flushes for the first commit", n)
	}
	f.append(20)
	if n := syncs.Load(); n != 1 {
		t.Fatalf("%d flushes for 20 commits within the interval", n)
	}
	f.log.seal.lastSync.Store(time.Now().Add(-headSyncEvery).UnixNano())
	f.append(1)
	if n := syncs.Load(); n != 2 {
		t.Fatalf("%d flushes once the interval passed", n)
	}
}
