package auditlog

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"sync"
	"time"

	"github.com/warden-sec/warden/core/store"
)

// Kinds of breakage Verify reports.
const (
	BreakHash         = "hash_mismatch"       // the entry's content does not match its HMAC: edited
	BreakGap          = "gap"                 // entries are missing: deleted
	BreakReorder      = "reorder"             // an entry is not where the chain put it: moved or swapped
	BreakLink         = "link"                // prev_hash does not match the previous entry's hash
	BreakStart        = "unanchored_start"    // older entries are gone without a retention record
	BreakMalformed    = "malformed"           // the entry cannot be decoded
	BreakCheckpoint   = "checkpoint_mismatch" // the entry differs from what a signed checkpoint vouched for
	BreakTruncated    = "truncated"           // entries a checkpoint or the sealed head vouched for are gone from the end
	BreakHeadMissing  = "head_missing"        // the sealed head record of a sealed log is gone
	BreakHeadAltered  = "head_altered"        // the sealed head record does not carry a valid MAC
	BreakHeadMismatch = "head_mismatch"       // the entry the sealed head names has another hash
)

// Break is the first problem Verify found.
type Break struct {
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

func (b *Break) Error() string {
	return fmt.Sprintf("audit log broken at seq %d: %s (%s)", b.Seq, b.Reason, b.Kind)
}

// Report is the result of a verification.
type Report struct {
	OK       bool          `json:"ok"`
	Entries  uint64        `json:"entries"`
	First    uint64        `json:"first"`
	Last     uint64        `json:"last"`
	HeadHash string        `json:"headHash"`
	Purges   int           `json:"purges"`
	Break    *Break        `json:"break,omitempty"`
	Sealed   *SealedHead   `json:"sealedHead,omitempty"` // the valid head record read, if any
	Notes    []string      `json:"notes,omitempty"`
	Duration time.Duration `json:"-"`
}

// chainChecker verifies a run of consecutive entries.
type chainChecker struct {
	key     []byte
	mac     hash.Hash
	sum     []byte
	started bool
	expect  uint64
	prev    []byte

	firstSeq  uint64
	firstPrev []byte
	count     uint64
	purges    []purgeRecord
	seals     []sealRecord
	brk       *Break

	// want is the seq the sealed head record names; its hash is kept.
	want     uint64
	wantHash []byte
}

type purgeRecord struct {
	seq        uint64
	to         uint64
	anchor     []byte
	headSealed bool
}

func newChecker(key []byte) *chainChecker {
	return &chainChecker{key: key, mac: hmac.New(sha256.New, key), sum: make([]byte, 0, sha256.Size)}
}

// add checks one row; it returns false once the chain is broken.
func (c *chainChecker) add(seq uint64, body, prev, h []byte) bool {
	if c.brk != nil {
		return false
	}
	if !c.started {
		c.started = true
		c.firstSeq, c.firstPrev = seq, append([]byte(nil), prev...)
	} else {
		switch {
		case seq != c.expect:
			c.brk = &Break{Seq: c.expect, Kind: BreakGap, Reason: fmt.Sprintf("entries %s are missing", seqRange(c.expect, seq-1))}
			return false
		case !bytes.Equal(prev, c.prev):
			c.brk = &Break{Seq: seq, Kind: BreakLink, Reason: fmt.Sprintf("its previous hash does not match entry %d (entries were reordered or replaced)", seq-1)}
			return false
		}
	}
	if len(body) < 9 || body[0] != bodyVersion {
		c.brk = &Break{Seq: seq, Kind: BreakMalformed, Reason: "the entry cannot be decoded"}
		return false
	}
	if bodySeq := beUint64(body[1:9]); bodySeq != seq {
		c.brk = &Break{Seq: seq, Kind: BreakReorder, Reason: fmt.Sprintf("it holds entry %d (entries were moved or swapped)", bodySeq)}
		return false
	}
	c.mac.Reset()
	c.mac.Write(prev)
	c.mac.Write(body)
	c.sum = c.mac.Sum(c.sum[:0])
	if !hmac.Equal(c.sum, h) {
		c.brk = &Break{Seq: seq, Kind: BreakHash, Reason: "its content does not match its hash (the entry was edited)"}
		return false
	}
	if bytes.Contains(body, []byte(ActionRetentionPurge)) {
		var e Entry
		if e.Decode(body) == nil && e.Action == ActionRetentionPurge {
			if p, ok := parsePurge(e); ok {
				c.purges = append(c.purges, p)
			}
		}
	}
	if bytes.Contains(body, []byte(ActionSeal)) {
		var e Entry
		if e.Decode(body) == nil && e.Action == ActionSeal {
			c.seals = append(c.seals, parseSeal(e))
		}
	}
	if seq == c.want {
		c.wantHash = append(c.wantHash[:0], h...)
	}
	c.expect = seq + 1
	c.prev = append(c.prev[:0], h...)
	c.count++
	return true
}

func beUint64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

func seqRange(a, b uint64) string {
	if a == b {
		return strconv.FormatUint(a, 10)
	}
	return fmt.Sprintf("%d to %d", a, b)
}

func parsePurge(e Entry) (purgeRecord, bool) {
	var d struct {
		PurgedTo   json.Number `json:"purged_to"`
		AnchorHash string      `json:"anchor_hash"`
		HeadSealed bool        `json:"head_sealed"`
	}
	if json.Unmarshal(e.Details, &d) != nil {
		return purgeRecord{}, false
	}
	to, err1 := strconv.ParseUint(string(d.PurgedTo), 10, 64)
	anchor, err2 := hex.DecodeString(d.AnchorHash)
	if err1 != nil || err2 != nil {
		return purgeRecord{}, false
	}
	return purgeRecord{seq: e.Seq, to: to, anchor: anchor, headSealed: d.HeadSealed}, true
}

// checkStart verifies how the chain begins: at seq 1 from the genesis
// hash, or right after the range the newest retention purge recorded.
func checkStart(first uint64, firstPrev []byte, purges []purgeRecord) *Break {
	var newest *purgeRecord
	for i := range purges {
		if newest == nil || purges[i].to > newest.to {
			newest = &purges[i]
		}
	}
	switch {
	case first == 1 && newest == nil:
		if !bytes.Equal(firstPrev, genesis) {
			return &Break{Seq: 1, Kind: BreakLink, Reason: "the first entry does not start from the genesis hash"}
		}
		return nil
	case newest == nil:
		return &Break{Seq: first, Kind: BreakStart, Reason: fmt.Sprintf("entries %s were deleted without a retention_purge record", seqRange(1, first-1))}
	case newest.to+1 < first:
		return &Break{Seq: newest.to + 1, Kind: BreakStart, Reason: fmt.Sprintf("entries %s were deleted after the last retention purge (entry %d, which purged up to %d)", seqRange(newest.to+1, first-1), newest.seq, newest.to)}
	case newest.to+1 > first:
		return &Break{Seq: first, Kind: BreakStart, Reason: fmt.Sprintf("retention purge entry %d says entries up to %d were purged, but entry %d is present", newest.seq, newest.to, first)}
	case !bytes.Equal(newest.anchor, firstPrev):
		return &Break{Seq: first, Kind: BreakLink, Reason: fmt.Sprintf("it does not continue from the hash retention purge entry %d recorded", newest.seq)}
	}
	return nil
}

// Verify checks the whole chain with several readers in parallel and names
// the first broken sequence number. A log that keeps a head record is also
// checked against it, which names entries cut from the end.
func (l *Log) Verify(ctx context.Context, workers int) (Report, error) {
	start := time.Now()
	// The head record is read before the chain: commits write it after
	// the entries are durable, so read in this order it never runs ahead
	// of an intact chain.
	hr, err := l.readHead()
	if err != nil {
		return Report{}, err
	}
	h, err := l.Head(ctx)
	if err != nil {
		return Report{}, err
	}
	rep := Report{First: h.First, Last: h.Seq, HeadHash: hex.EncodeToString(h.Hash)}
	if h.Seq == 0 {
		if l.seal != nil {
			rep.Break, rep.Sealed, rep.Notes = l.seal.check(hr, chainView{})
		}
		rep.OK = rep.Break == nil
		rep.Duration = time.Since(start)
		return rep, nil
	}
	if workers < 1 {
		workers = 1
	}
	span := h.Seq - h.First + 1
	if span < uint64(workers)*10000 {
		workers = 1
	}
	type part struct {
		c   *chainChecker
		err error
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo := h.First + span*uint64(w)/uint64(workers)
		hi := h.First + span*uint64(w+1)/uint64(workers) - 1
		wg.Add(1)
		go func(w int, lo, hi uint64) {
			defer wg.Done()
			c := newChecker(l.key)
			c.want = hr.rec.seq
			err := l.scan(ctx, lo, hi, c)
			parts[w] = part{c: c, err: err}
		}(w, lo, hi)
	}
	wg.Wait()
	var all []purgeRecord
	view := chainView{first: h.First, last: h.Seq}
	var prev *chainChecker
	for _, p := range parts {
		if p.err != nil {
			return Report{}, p.err
		}
		c := p.c
		all = append(all, c.purges...)
		view.seals = append(view.seals, c.seals...)
		if c.wantHash != nil {
			view.sealedHash = c.wantHash
		}
		rep.Entries += c.count
		if rep.Break == nil && prev != nil && c.started && prev.brk == nil {
			switch {
			case c.firstSeq != prev.expect:
				rep.Break = &Break{Seq: prev.expect, Kind: BreakGap, Reason: fmt.Sprintf("entries %s are missing", seqRange(prev.expect, c.firstSeq-1))}
			case !bytes.Equal(c.firstPrev, prev.prev):
				rep.Break = &Break{Seq: c.firstSeq, Kind: BreakLink, Reason: fmt.Sprintf("its previous hash does not match entry %d (entries were reordered or replaced)", c.firstSeq-1)}
			}
		}
		if rep.Break == nil && c.brk != nil {
			rep.Break = c.brk
		}
		prev = c
	}
	if rep.Break == nil {
		rep.Break = checkStart(parts[0].c.firstSeq, parts[0].c.firstPrev, all)
	}
	view.purges = all
	if rep.Break == nil && l.seal != nil {
		rep.Break, rep.Sealed, rep.Notes = l.seal.check(hr, view)
	}
	rep.Purges = len(all)
	if rep.Break != nil && workers > 1 {
		// Confirm in one consistent snapshot before accusing anyone: a
		// purge running during a parallel read looks like a gap.
		if hr, err = l.readHead(); err != nil {
			return Report{}, err
		}
		c := newChecker(l.key)
		c.want = hr.rec.seq
		if err := l.scan(ctx, 0, ^uint64(0)>>1, c); err != nil {
			return Report{}, err
		}
		rep.Break, rep.Sealed, rep.Notes = c.brk, nil, nil
		if rep.Break == nil {
			rep.Break = checkStart(c.firstSeq, c.firstPrev, c.purges)
		}
		if rep.Break == nil && l.seal != nil {
			v := chainView{first: c.firstSeq, last: c.expect - 1, sealedHash: c.wantHash, purges: c.purges, seals: c.seals}
			if !c.started {
				v.first, v.last = 0, 0
			}
			rep.Break, rep.Sealed, rep.Notes = l.seal.check(hr, v)
		}
		rep.Entries = c.count
	}
	rep.OK = rep.Break == nil
	rep.Duration = time.Since(start)
	return rep, nil
}

// readHead reads the head record, or reports it missing when sealing is off.
func (l *Log) readHead() (headRead, error) {
	if l.seal == nil {
		return headRead{state: headMissing, slot: -1}, nil
	}
	return l.seal.read()
}

// scan feeds the rows lo..hi (inclusive) to c in one read transaction.
func (l *Log) scan(ctx context.Context, lo, hi uint64, c *chainChecker) error {
	return l.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		rows, err := q.QueryContext(ctx, `SELECT seq, body, prev_hash, hash FROM audit_log WHERE seq BETWEEN ? AND ? ORDER BY seq`, int64(lo), int64(hi))
		if err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
		defer rows.Close()
		var seq int64
		var body, prev, h sql.RawBytes // valid until Next: add copies what it keeps
		for rows.Next() {
			if err := rows.Scan(&seq, &body, &prev, &h); err != nil {
				return fmt.Errorf("read audit log: %w", err)
			}
			if !c.add(uint64(seq), body, prev, h) {
				return nil
			}
		}
		return rows.Err()
	})
}
