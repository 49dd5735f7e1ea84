package auditlog

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"time"

	"github.com/warden-sec/warden/core/store"
)

// IndexFileName is the search index's file beside the database.
const IndexFileName = "audit-index.db"

//go:embed indexschema/*.sql
var indexSchema embed.FS

func openIndex(ctx context.Context, path string) (*store.Store, error) {
	sub, err := fs.Sub(indexSchema, "indexschema")
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, store.Options{Path: path, Migrations: sub, Rebuildable: true})
}

func defaultIndexPath(db *store.Store) string {
	return filepath.Join(filepath.Dir(db.Path()), IndexFileName)
}

const (
	keyUpto     = "upto"
	keyUptoHash = "upto_hash"
)

func readIndexState(ctx context.Context, q store.Queryer) (uint64, []byte, error) {
	var upto uint64
	var h []byte
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM index_state WHERE key IN (?, ?)`, keyUpto, keyUptoHash)
	if err != nil {
		return 0, nil, fmt.Errorf("read index state: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return 0, nil, fmt.Errorf("read index state: %w", err)
		}
		switch k {
		case keyUpto:
			upto, _ = strconv.ParseUint(string(v), 10, 64)
		case keyUptoHash:
			h = v
		}
	}
	return upto, h, rows.Err()
}

func writeIndexState(ctx context.Context, q store.Queryer, upto uint64, h []byte) error {
	if h == nil {
		h = []byte{}
	}
	for _, kv := range [][2]any{{keyUpto, []byte(strconv.FormatUint(upto, 10))}, {keyUptoHash, h}} {
		if _, err := q.ExecContext(ctx, `INSERT INTO index_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, kv[0], kv[1]); err != nil {
			return fmt.Errorf("write index state: %w", err)
		}
	}
	return nil
}

// indexLoop keeps the index near the log: it runs after commits are kicked
// and when appends pause, on its own database so it never delays them.
func (l *Log) indexLoop() {
	defer close(l.indexDone)
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	for {
		select {
		case <-l.kick:
			idle.Reset(idleIndexDelay)
			// Appends come first: the index catches up when they pause,
			// unless it falls too far behind (Search catches up itself).
			if l.behind.Load() < maxIndexLag {
				continue
			}
		case <-idle.C:
		case <-l.closed:
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, _ = l.IndexPending(ctx)
		cancel()
	}
}

const (
	// idleIndexDelay is how long appends must pause before the index catches up.
	idleIndexDelay = 100 * time.Millisecond
	// maxIndexLag is how many entries may wait for the index under a
	// steady load before indexing runs anyway.
	maxIndexLag = 250_000
)

// IndexPending adds every entry not yet in the search index and removes
// index rows of purged entries. It returns how many entries it indexed.
func (l *Log) IndexPending(ctx context.Context) (int, error) {
	l.indexMu.Lock()
	defer l.indexMu.Unlock()
	total := 0
	l.behind.Store(0)
	if err := l.cleanIndex(ctx, 0); err != nil {
		return 0, err
	}
	for {
		n, err := l.indexSome(ctx, l.indexBatch)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// indexSome indexes up to limit entries in one index transaction.
func (l *Log) indexSome(ctx context.Context, limit int) (int, error) {
	var upto uint64
	var uptoHash []byte
	if err := l.index.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		var err error
		upto, uptoHash, err = readIndexState(ctx, q)
		return err
	}); err != nil {
		return 0, err
	}
	var entries []Entry
	reset := false
	err := l.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		if upto > 0 {
			// The entry the index ends at must still be the one it saw;
			// otherwise the log was replaced and the index starts over.
			var h []byte
			err := q.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, int64(upto)).Scan(&h)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				var last sql.NullInt64
				if err := q.QueryRowContext(ctx, `SELECT MAX(seq) FROM audit_log`).Scan(&last); err != nil {
					return err
				}
				reset = !last.Valid || uint64(last.Int64) < upto // purged below is fine; a shorter log is not
			case err != nil:
				return fmt.Errorf("read audit log: %w", err)
			default:
				reset = !bytes.Equal(h, uptoHash)
			}
			if reset {
				upto = 0
			}
		}
		rows, err := q.QueryContext(ctx, `SELECT seq, body, hash FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, int64(upto), limit)
		if err != nil {
			return fmt.Errorf("read entries to index: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var seq int64
			var body []byte
			var e Entry
			if err := rows.Scan(&seq, &body, &e.Hash); err != nil {
				return fmt.Errorf("read entries to index: %w", err)
			}
			if e.Decode(body) != nil {
				e = Entry{Hash: e.Hash} // a damaged row is indexed empty; Verify reports it
			}
			e.Seq = uint64(seq)
			entries = append(entries, e)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	if len(entries) == 0 && !reset {
		return 0, nil
	}
	err = l.index.Write(ctx, func(ctx context.Context, tx store.Queryer) error {
		if reset {
			if _, err := tx.ExecContext(ctx, `DELETE FROM audit_fts`); err != nil {
				return fmt.Errorf("reset index: %w", err)
			}
		}
		// The statement is prepared once per process (store statement cache).
		{
			part := entries
			for _, e := range part {
				if _, err := tx.ExecContext(ctx, `INSERT INTO audit_fts (rowid, actor, action, target, outcome, details) VALUES (?, ?, ?, ?, ?, ?)`,
					int64(e.Seq), e.Actor, e.Action, e.Target, e.Outcome, string(e.Details)); err != nil {
					return fmt.Errorf("index audit entry %d: %w", e.Seq, err)
				}
			}
		}
		if len(entries) == 0 {
			return writeIndexState(ctx, tx, 0, nil)
		}
		last := entries[len(entries)-1]
		return writeIndexState(ctx, tx, last.Seq, last.Hash)
	})
	if err != nil {
		return 0, err
	}
	return max(len(entries), boolInt(reset)), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cleanIndex removes index rows of purged entries (below the oldest entry
// kept), limit rows at most (0: all), in chunks.
func (l *Log) cleanIndex(ctx context.Context, limit int) error {
	h, err := l.Head(ctx)
	if err != nil {
		return err
	}
	below := int64(h.First)
	if h.Seq == 0 {
		below = 0
	}
	const chunk = 20000
	removed := 0
	for limit == 0 || removed < limit {
		var lowest sql.NullInt64
		if err := l.index.Read(ctx, func(ctx context.Context, q store.Queryer) error {
			return q.QueryRowContext(ctx, `SELECT MIN(rowid) FROM audit_fts`).Scan(&lowest)
		}); err != nil {
			return fmt.Errorf("read index: %w", err)
		}
		if !lowest.Valid || lowest.Int64 >= below {
			return nil
		}
		// When a third or more of the index is stale (a large purge), dropping it and
		// indexing what remains is far cheaper than deleting row by row.
		if stale, kept := below-lowest.Int64, int64(h.Count); limit == 0 && stale > 50000 && 2*stale > kept {
			return l.index.Write(ctx, func(ctx context.Context, tx store.Queryer) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO audit_fts (audit_fts) VALUES ('delete-all')`); err != nil {
					return fmt.Errorf("reset index: %w", err)
				}
				return writeIndexState(ctx, tx, 0, nil)
			})
		}
		hi := min(below-1, lowest.Int64+chunk-1)
		if err := l.index.Write(ctx, func(ctx context.Context, tx store.Queryer) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM audit_fts WHERE rowid BETWEEN ? AND ?`, lowest.Int64, hi)
			return err
		}); err != nil {
			return fmt.Errorf("remove purged entries from the index: %w", err)
		}
		removed += chunk
	}
	return nil
}

// CleanIndex removes index rows of purged entries, at most limit (0: all).
func (l *Log) CleanIndex(ctx context.Context, limit int) error {
	l.indexMu.Lock()
	defer l.indexMu.Unlock()
	return l.cleanIndex(ctx, limit)
}
