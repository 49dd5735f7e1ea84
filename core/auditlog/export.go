package auditlog

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/warden-sec/warden/core/store"
)

// Exported is one line of a JSON Lines export: every field the hash covers,
// plus the hashes, so another system can re-verify the chain with the key.
type Exported struct {
	Seq      uint64          `json:"seq"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Target   string          `json:"target"`
	Outcome  string          `json:"outcome"`
	SourceIP string          `json:"sourceIp"`
	Details  json.RawMessage `json:"details"`
	PrevHash string          `json:"prevHash"`
	Hash     string          `json:"hash"`
}

// ToExported converts an entry for export.
func ToExported(e Entry) Exported {
	return Exported{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, Target: e.Target, Outcome: e.Outcome,
		SourceIP: e.SourceIP, Details: e.Details, PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)}
}

// Each calls fn for every entry with seq >= from and time >= since, in
// order, reading in pages so the log can be any size.
func (l *Log) Each(ctx context.Context, from uint64, since time.Time, fn func(Entry) error) error {
	const page = 2000
	next := int64(from)
	for {
		var batch []Entry
		err := l.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
			rows, err := q.QueryContext(ctx, `SELECT seq, body, prev_hash, hash FROM audit_log WHERE seq >= ? AND time_ns >= ? ORDER BY seq LIMIT ?`,
				next, since.UnixNano(), page)
			if err != nil {
				return fmt.Errorf("read audit log: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				e, err := scanEntry(rows)
				if err != nil {
					return fmt.Errorf("audit entry %d: %w (run warden log verify)", e.Seq, err)
				}
				batch = append(batch, e)
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < page {
			return nil
		}
		next = int64(batch[len(batch)-1].Seq) + 1
	}
}

// Export writes entries as JSON Lines.
func (l *Log) Export(ctx context.Context, w io.Writer, from uint64, since time.Time) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err := l.Each(ctx, from, since, func(e Entry) error {
		n++
		return enc.Encode(ToExported(e))
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// ErrExportFormat is wrapped when an export line cannot be read.
var ErrExportFormat = errors.New("malformed export")

// VerifyExport checks a JSON Lines export with the key. An export that
// starts after seq 1 without its retention record (a --since export) is
// checked from its first entry on, and the report says so.
func VerifyExport(r io.Reader, key []byte) (Report, error) {
	start := time.Now()
	c := newChecker(key)
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	dec.UseNumber()
	var rep Report
	line := 0
	for {
		var x Exported
		err := dec.Decode(&x)
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return rep, fmt.Errorf("%w: entry %d: %v", ErrExportFormat, line, err)
		}
		details, err := Recanonicalize(x.Details)
		if err != nil {
			rep.Break = &Break{Seq: x.Seq, Kind: BreakMalformed, Reason: "its details are not canonical JSON: " + err.Error()}
			break
		}
		prev, err1 := hex.DecodeString(x.PrevHash)
		h, err2 := hex.DecodeString(x.Hash)
		if err1 != nil || err2 != nil {
			rep.Break = &Break{Seq: x.Seq, Kind: BreakMalformed, Reason: "its hashes are not hex"}
			break
		}
		e := Entry{Seq: x.Seq, Time: x.Time, Actor: x.Actor, Action: x.Action, Target: x.Target, Outcome: x.Outcome,
			SourceIP: x.SourceIP, Details: details}
		if !c.add(x.Seq, e.Encode(), prev, h) {
			break
		}
		if rep.First == 0 {
			rep.First = x.Seq
		}
		rep.Last, rep.HeadHash = x.Seq, x.Hash
	}
	if rep.Break == nil {
		rep.Break = c.brk
	}
	rep.Entries, rep.Purges = c.count, len(c.purges)
	if rep.Break == nil && c.started {
		if b := checkStart(c.firstSeq, c.firstPrev, c.purges); b != nil {
			// A file cannot tell a --since export from one whose first
			// lines were cut; say so rather than guess.
			if b.Kind == BreakStart {
				rep.Notes = append(rep.Notes, fmt.Sprintf("the export starts at entry %d; entries before it are not in the file, so its start is not anchored", c.firstSeq))
			} else {
				rep.Break = b
			}
		}
	}
	rep.OK = rep.Break == nil
	rep.Duration = time.Since(start)
	return rep, nil
}

// scanEntry reads a (seq, body, prev_hash, hash) row and decodes it. A row
// whose body does not decode, or names another seq, is an error.
func scanEntry(rows interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	var seq int64
	var body []byte
	if err := rows.Scan(&seq, &body, &e.PrevHash, &e.Hash); err != nil {
		return e, fmt.Errorf("read audit log: %w", err)
	}
	err := e.Decode(body)
	if err == nil && e.Seq != uint64(seq) {
		err = errBody
	}
	e.Seq = uint64(seq)
	return e, err
}
