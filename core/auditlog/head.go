package auditlog

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/warden-sec/warden/core/store"
)

// HeadFileName is the sealed head record's file in the state dir, beside
// the database.
const HeadFileName = "audit.head"

// ActionSeal is the action of the entries the log writes about its own head
// record: one when sealing starts, and one each time a commit finds the
// record missing from a sealed log, altered, or vouching for an entry the
// log no longer has. The finding stays in the chain after the commit has
// rewritten the record, so Verify keeps reporting it.
const ActionSeal = "audit.seal"

// What an audit.seal entry found (its "found" detail).
const (
	sealStart     = "start"     // no record, and the chain was never sealed
	sealMissing   = "missing"   // no record, but the chain says it was sealed
	sealAltered   = "altered"   // no slot carries a valid MAC
	sealTruncated = "truncated" // the record names an entry past the end of the log
	sealMismatch  = "mismatch"  // the entry at the record's seq has another hash
)

// The head file holds two fixed-size slots, each a whole record:
//
//	magic "WDNHEAD1" | seq (uint64 BE) | since (uint64 BE) | hash (32) | mac (32)
//
// mac is HMAC-SHA256 over the bytes before it, keyed with a key derived
// from the audit key. since is the seq of the audit.seal entry that began
// the current sealing (0 while that entry is not known to be committed).
// Commits overwrite the slot that does not hold the newest valid record,
// so a torn write damages at most the record being replaced, and readers
// take the valid slot with the higher seq. Slot 1 starts a 4 KiB block of
// its own so that one torn sector or page cannot reach both.
const (
	headMagic    = "WDNHEAD1"
	headRecLen   = len(headMagic) + 8 + 8 + sha256.Size + sha256.Size
	headSlotSize = 4096
	// headKeyLabel separates the head record's MAC key from the chain's:
	// the audit key itself never MACs anything but entries.
	headKeyLabel = "warden-audit-head-record-v1"
	// headLockWait bounds how long a commit waits for another writer of
	// the head file (the same bound as the database's busy timeout).
	headLockWait = store.DefaultBusyTimeout
)

type headRecord struct {
	seq   uint64
	since uint64
	hash  []byte
}

type headState int

const (
	headMissing headState = iota
	headAltered
	headValid
)

// headRead is what the head file held.
type headRead struct {
	state headState
	rec   headRecord
	slot  int // the slot rec came from; -1 when none is valid
}

// headSyncEvery bounds how far the durable head record may lag behind
// the chain. Every commit writes the record before its appends are
// acknowledged, so any reader (Verify, the next commit, another process)
// sees it at once; only a power loss can take back what the kernel had
// not written out yet. Flushing it at most once per interval, rather
// than once per commit, keeps an append at one fsync (the database's)
// instead of two. After such a crash the record is older than the chain,
// which is never a false alarm (entries after the record are the crash
// window) and the next commit seals the chain's end again.
const headSyncEvery = time.Second

// sealer keeps the head record of one log.
type sealer struct {
	path     string
	key      []byte
	sync     func(*os.File) error // syncData; tests make it fail
	lastSync atomic.Int64         // UnixNano of the last flush of the record
}

func newSealer(path string, auditKey []byte) *sealer {
	m := hmac.New(sha256.New, auditKey)
	m.Write([]byte(headKeyLabel))
	s := &sealer{path: path, key: m.Sum(nil), sync: syncData}
	// A short-lived command (most CLI commands commit once or twice)
	// leaves the flush to the kernel's writeback, as a long run does
	// between two of its flushes.
	s.lastSync.Store(time.Now().UnixNano())
	return s
}

// openHeadFile opens the head record without following a link in its name
// and accepts only a regular file: a link planted in the state dir would
// otherwise have every commit write into whatever file it names.
func openHeadFile(path string, flag int) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("audit head record %s is a symbolic link; warden does not follow links among its state files", path)
	}
	f, err := os.OpenFile(path, flag|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("audit head record %s is not a regular file", path)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

func (s *sealer) encode(r headRecord) []byte {
	b := make([]byte, 0, headRecLen)
	b = append(b, headMagic...)
	b = binary.BigEndian.AppendUint64(b, r.seq)
	b = binary.BigEndian.AppendUint64(b, r.since)
	b = append(b, r.hash...)
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return m.Sum(b)
}

func (s *sealer) decode(b []byte) (headRecord, bool) {
	body := headRecLen - sha256.Size
	if len(b) != headRecLen || !bytes.Equal(b[:len(headMagic)], []byte(headMagic)) {
		return headRecord{}, false
	}
	m := hmac.New(sha256.New, s.key)
	m.Write(b[:body])
	if !hmac.Equal(m.Sum(nil), b[body:]) {
		return headRecord{}, false
	}
	o := len(headMagic)
	return headRecord{seq: binary.BigEndian.Uint64(b[o:]), since: binary.BigEndian.Uint64(b[o+8:]),
		hash: append([]byte(nil), b[o+16:body]...)}, true
}

// parse reads both slots of an open head file.
func (s *sealer) parse(r io.ReaderAt) (headRead, error) {
	buf := make([]byte, headSlotSize+headRecLen)
	n, err := r.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return headRead{}, fmt.Errorf("read audit head record %s: %w", s.path, err)
	}
	buf = buf[:n]
	got := headRead{state: headAltered, slot: -1}
	for slot := 0; slot < 2; slot++ {
		off := slot * headSlotSize
		if len(buf) < off+headRecLen {
			continue
		}
		rec, ok := s.decode(buf[off : off+headRecLen])
		if ok && (got.state != headValid || rec.seq > got.rec.seq) {
			got = headRead{state: headValid, rec: rec, slot: slot}
		}
	}
	return got, nil
}

// read reads the head file without locking it: a slot being written reads
// as invalid, and the other one then holds the newest record.
func (s *sealer) read() (headRead, error) {
	f, err := openHeadFile(s.path, os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return headRead{state: headMissing, slot: -1}, nil
	}
	if err != nil {
		return headRead{}, fmt.Errorf("open audit head record: %w", err)
	}
	defer f.Close()
	return s.parse(f)
}

// create writes a new head file holding rec in slot 0. It appears whole
// (renamed into place) and durable (file and directory synced), so a
// crash never leaves an empty or half-written file that would read as
// altered.
func (s *sealer) create(rec headRecord) error {
	tmp := s.path + ".tmp"
	// A leftover from a crash goes first; O_EXCL then neither reuses a
	// file nor follows a link someone put in its place.
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("create audit head record: %w", err)
	}
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("create audit head record: %w", err)
	}
	_, err = f.WriteAt(s.encode(rec), 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(s.path))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("create audit head record: %w", err)
	}
	return nil
}

// sealTx is the head record's part in one commit: begun inside the write
// transaction, where the end of the chain cannot move, and finished once
// the transaction is durable. It holds the head file's lock from begin to
// close, so that writers in other processes never overwrite the slot that
// holds the newest record.
type sealTx struct {
	s     *sealer
	f     *os.File
	cur   headRead
	since uint64
	// marker, when set, must be the first entry of the transaction.
	marker *Event
	// rewrite is set when the record on disk is wrong (altered, or
	// vouching for entries the log no longer has): both slots are
	// overwritten, so the stale record cannot win over the new one.
	rewrite bool
}

// begin reads the head record and compares it with the end of the chain
// (tail, tailHash), inside the write transaction q. Whatever does not
// match becomes an audit.seal entry (marker) for the caller to write
// before its own entries.
func (s *sealer) begin(ctx context.Context, q store.Queryer, tail uint64, tailHash []byte) (*sealTx, error) {
	t := &sealTx{s: s}
	f, err := openHeadFile(s.path, os.O_RDWR)
	if errors.Is(err, fs.ErrNotExist) {
		found, err := startFinding(ctx, q, tail)
		if err != nil {
			return nil, err
		}
		// The file exists before the entry saying sealing began is
		// committed: were it created after, a crash in between would leave
		// a sealed chain without a head record, which reads as a deletion.
		if err := s.create(headRecord{seq: tail, hash: tailHash}); err != nil {
			return nil, err
		}
		if f, err = openHeadFile(s.path, os.O_RDWR); err != nil {
			return nil, fmt.Errorf("open audit head record: %w", err)
		}
		t.marker = sealEvent(found, nil)
	} else if err != nil {
		return nil, fmt.Errorf("open audit head record: %w", err)
	}
	t.f = f
	if err := lockFile(f, headLockWait); err != nil {
		t.close()
		return nil, fmt.Errorf("lock audit head record %s: %w", s.path, err)
	}
	if t.cur, err = s.parse(f); err != nil {
		t.close()
		return nil, err
	}
	if t.marker != nil {
		return t, nil
	}
	if t.cur.state != headValid {
		t.marker, t.rewrite = sealEvent(sealAltered, nil), true
		return t, nil
	}
	rec := t.cur.rec
	if t.marker, err = compareHead(ctx, q, rec, tail, tailHash); err != nil {
		t.close()
		return nil, err
	}
	if t.marker != nil {
		t.rewrite = true
		return t, nil
	}
	if rec.since != 0 {
		t.since = rec.since
		return t, nil
	}
	// A record without since was created by a commit that may not have
	// completed: its audit.seal entry, if committed, directly follows it.
	ok, err := sealEntryAt(ctx, q, rec.seq+1)
	if err != nil {
		t.close()
		return nil, err
	}
	if ok {
		t.since = rec.seq + 1
		return t, nil
	}
	found, err := startFinding(ctx, q, tail)
	if err != nil {
		t.close()
		return nil, err
	}
	t.marker = sealEvent(found, nil)
	return t, nil
}

// marked records that the marker was written as entry seq: sealing
// (re)starts there.
func (t *sealTx) marked(seq uint64) { t.since = seq }

// finish seals the committed end of the chain, seq and hash, and makes it
// durable before the commit's appends are acknowledged.
func (t *sealTx) finish(seq uint64, hash []byte) error {
	enc := t.s.encode(headRecord{seq: seq, since: t.since, hash: hash})
	slot := 0
	if t.cur.state == headValid {
		slot = 1 - t.cur.slot
	}
	if err := t.writeSlot(slot, enc); err != nil {
		return err
	}
	if t.rewrite {
		if err := t.writeSlot(1-slot, enc); err != nil {
			return err
		}
	}
	// A rewrite replaces evidence of tampering and a start begins the
	// record: both are flushed at once; ordinary commits at most once
	// per headSyncEvery.
	now := time.Now().UnixNano()
	if t.rewrite || t.marker != nil || now-t.s.lastSync.Load() >= int64(headSyncEvery) {
		if err := t.s.sync(t.f); err != nil {
			return fmt.Errorf("sync audit head record: %w", err)
		}
		t.s.lastSync.Store(now)
	}
	return nil
}

func (t *sealTx) writeSlot(slot int, rec []byte) error {
	if _, err := t.f.WriteAt(rec, int64(slot*headSlotSize)); err != nil {
		return fmt.Errorf("write audit head record: %w", err)
	}
	return nil
}

// close releases the lock and the file; it may be called more than once.
func (t *sealTx) close() {
	if t == nil || t.f == nil {
		return
	}
	_ = unlockFile(t.f)
	_ = t.f.Close()
	t.f = nil
}

func sealEvent(found string, details map[string]any) *Event {
	d := map[string]any{"found": found}
	for k, v := range details {
		d[k] = v
	}
	outcome := OutcomeFailure
	if found == sealStart {
		outcome = OutcomeSuccess
	}
	return &Event{Actor: "system", Action: ActionSeal, Target: "audit_log", Outcome: outcome, Details: d}
}

// compareHead checks a valid record against the chain: the entry it names
// must be there with the same hash, unless retention purged it.
func compareHead(ctx context.Context, q store.Queryer, rec headRecord, tail uint64, tailHash []byte) (*Event, error) {
	sealed := map[string]any{"sealed_seq": rec.seq, "sealed_hash": hex.EncodeToString(rec.hash)}
	switch {
	case rec.seq > tail:
		sealed["last_seq"] = tail
		return sealEvent(sealTruncated, sealed), nil
	case rec.seq == tail:
		if hmac.Equal(rec.hash, tailHash) {
			return nil, nil
		}
		return sealEvent(sealMismatch, sealed), nil
	case rec.seq == 0:
		return nil, nil
	}
	var h []byte
	err := q.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, int64(rec.seq)).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		var first int64
		if err := q.QueryRowContext(ctx, `SELECT MIN(seq) FROM audit_log`).Scan(&first); err != nil {
			return nil, fmt.Errorf("read audit log range: %w", err)
		}
		if rec.seq < uint64(first) {
			return nil, nil // purged by retention
		}
		return sealEvent(sealMismatch, sealed), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit entry %d: %w", rec.seq, err)
	}
	if !hmac.Equal(h, rec.hash) {
		return sealEvent(sealMismatch, sealed), nil
	}
	return nil, nil
}

// sealEntryAt reports whether entry seq is an audit.seal entry.
func sealEntryAt(ctx context.Context, q store.Queryer, seq uint64) (bool, error) {
	var body []byte
	err := q.QueryRowContext(ctx, `SELECT body FROM audit_log WHERE seq = ?`, int64(seq)).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read audit entry %d: %w", seq, err)
	}
	var e Entry
	return e.Decode(body) == nil && e.Action == ActionSeal, nil
}

// startFinding tells a log that was never sealed (sealing starts now) from
// one whose head record was deleted: the chain of a sealed log holds an
// audit.seal entry or, once retention purged that, a retention_purge entry
// that says the log was sealed. It reads the whole table, but only when
// the head file is missing, which is once in a log's life unless someone
// deletes it.
func startFinding(ctx context.Context, q store.Queryer, tail uint64) (string, error) {
	if tail == 0 {
		return sealStart, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT body FROM audit_log WHERE instr(body, ?) > 0 OR instr(body, ?) > 0`,
		[]byte(ActionSeal), []byte(`"head_sealed":true`))
	if err != nil {
		return "", fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return "", fmt.Errorf("read audit log: %w", err)
		}
		var e Entry
		if e.Decode(body) != nil {
			continue
		}
		if e.Action == ActionSeal {
			return sealMissing, nil
		}
		if p, ok := parsePurge(e); ok && e.Action == ActionRetentionPurge && p.headSealed {
			return sealMissing, nil
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("read audit log: %w", err)
	}
	return sealStart, nil
}

// sealRecord is an audit.seal entry as Verify reads it.
type sealRecord struct {
	seq       uint64
	found     string
	sealedSeq uint64
	lastSeq   uint64
}

func parseSeal(e Entry) sealRecord {
	var d struct {
		Found     string `json:"found"`
		SealedSeq uint64 `json:"sealed_seq"`
		LastSeq   uint64 `json:"last_seq"`
	}
	r := sealRecord{seq: e.Seq}
	if json.Unmarshal(e.Details, &d) != nil {
		r.found = "unreadable"
		return r
	}
	r.found, r.sealedSeq, r.lastSeq = d.Found, d.SealedSeq, d.LastSeq
	return r
}

// brk is the break an audit.seal entry records, or nil for the start of
// sealing.
func (r sealRecord) brk() *Break {
	switch r.found {
	case sealStart:
		return nil
	case sealMissing:
		return &Break{Seq: r.seq, Kind: BreakHeadMissing,
			Reason: fmt.Sprintf("head record missing when entry %d was written: it was gone from a sealed log (entries may have been cut from the end before it)", r.seq)}
	case sealAltered:
		return &Break{Seq: r.seq, Kind: BreakHeadAltered,
			Reason: fmt.Sprintf("head record altered: it no longer carried a valid MAC when entry %d was written", r.seq)}
	case sealTruncated:
		return &Break{Seq: r.seq, Kind: BreakTruncated,
			Reason: fmt.Sprintf("entries %s were missing from the end of the log when entry %d was written (the sealed head record was at %d)",
				seqRange(r.lastSeq+1, r.sealedSeq), r.seq, r.sealedSeq)}
	case sealMismatch:
		return &Break{Seq: r.seq, Kind: BreakHeadMismatch,
			Reason: fmt.Sprintf("entry %d differed from the sealed head record when entry %d was written (the end of the log was replaced)", r.sealedSeq, r.seq)}
	}
	return &Break{Seq: r.seq, Kind: BreakMalformed, Reason: "the audit.seal entry cannot be read"}
}

// SealedHead is the head record Verify found.
type SealedHead struct {
	Seq   uint64 `json:"seq"`
	Hash  string `json:"hash"`
	Since uint64 `json:"since,omitempty"` // the audit.seal entry sealing started at
}

// chainView is what a verification read of the chain, for the head check.
type chainView struct {
	first, last uint64
	sealedHash  []byte // the hash of the entry the head record names, if read
	purges      []purgeRecord
	seals       []sealRecord
}

// check compares the head record, read before the chain, with the chain.
func (s *sealer) check(hr headRead, v chainView) (*Break, *SealedHead, []string) {
	var info *SealedHead
	if hr.state == headValid {
		info = &SealedHead{Seq: hr.rec.seq, Hash: hex.EncodeToString(hr.rec.hash), Since: hr.rec.since}
	}
	// What earlier commits found comes first: it is older.
	for _, r := range v.seals {
		if b := r.brk(); b != nil {
			return b, info, nil
		}
	}
	sealed := len(v.seals) > 0
	for _, p := range v.purges {
		sealed = sealed || p.headSealed
	}
	name := filepath.Base(s.path)
	switch hr.state {
	case headMissing:
		if sealed {
			return &Break{Seq: v.last + 1, Kind: BreakHeadMissing,
				Reason: fmt.Sprintf("head record missing: %s is gone from a sealed log (entries after %d may have been cut)", name, v.last)}, nil, nil
		}
		if v.last > 0 {
			return nil, nil, []string{"the log has no sealed head record yet; the next entry starts one"}
		}
		return nil, nil, nil
	case headAltered:
		return &Break{Seq: v.last + 1, Kind: BreakHeadAltered,
			Reason: fmt.Sprintf("head record altered: %s does not carry a valid MAC", name)}, nil, nil
	}
	rec := hr.rec
	switch {
	case rec.seq > v.last:
		return &Break{Seq: v.last + 1, Kind: BreakTruncated,
			Reason: fmt.Sprintf("entries %s are missing from the end of the log (the sealed head record is at %d)", seqRange(v.last+1, rec.seq), rec.seq)}, info, nil
	case rec.seq == 0:
	case rec.seq >= v.first:
		if !hmac.Equal(v.sealedHash, rec.hash) {
			return &Break{Seq: rec.seq, Kind: BreakHeadMismatch,
				Reason: "its hash differs from the sealed head record (the end of the log was replaced)"}, info, nil
		}
	default:
		// Retention purged the sealed entry; the newest purge recorded the
		// hash of the last entry it removed.
		if p := newestPurge(v.purges); p != nil && p.to == rec.seq && !hmac.Equal(p.anchor, rec.hash) {
			return &Break{Seq: rec.seq, Kind: BreakHeadMismatch,
				Reason: fmt.Sprintf("the sealed head record differs from the hash retention purge entry %d recorded for it", p.seq)}, info, nil
		}
	}
	return nil, info, nil
}

func newestPurge(purges []purgeRecord) *purgeRecord {
	var newest *purgeRecord
	for i := range purges {
		if newest == nil || purges[i].to > newest.to {
			newest = &purges[i]
		}
	}
	return newest
}
