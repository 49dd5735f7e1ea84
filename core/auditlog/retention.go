package auditlog

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/warden-sec/warden/core/store"
)

// PurgePlan says what a retention run deletes.
type PurgePlan struct {
	From, To uint64 // the purged range; To == 0 means nothing to purge
	Count    uint64
	Reason   string // "age", "count" or "age and count"
	// HeldFor names forwarding destinations that have not received entries
	// the limits would purge; those entries stay until they have.
	HeldFor []string `json:",omitempty"`
}

// SetRetentionHold names forwarding destinations whose undelivered entries
// retention must keep: a purge never deletes an entry before every one of
// them has received it (a destination that never ran holds everything).
// Call it before the first retention run.
func (l *Log) SetRetentionHold(destinations ...string) {
	l.holdMu.Lock()
	l.hold = append([]string(nil), destinations...)
	l.holdMu.Unlock()
}

// planPurge finds the newest entry to delete: everything older than
// maxAgeDays, and everything beyond the newest maxEntries (counting the
// retention_purge entry the run adds). Zero disables a limit.
func (l *Log) planPurge(ctx context.Context, q store.Queryer, maxAgeDays, maxEntries int) (PurgePlan, error) {
	var plan PurgePlan
	last, _, err := head(ctx, q)
	if err != nil || last == 0 {
		return plan, err
	}
	var first int64
	if err := q.QueryRowContext(ctx, `SELECT MIN(seq) FROM audit_log`).Scan(&first); err != nil {
		return plan, fmt.Errorf("read audit log range: %w", err)
	}
	var byAge, byCount uint64
	if maxAgeDays > 0 {
		cutoff := l.now().Add(-time.Duration(maxAgeDays) * 24 * time.Hour).UnixNano()
		var seq *int64
		if err := q.QueryRowContext(ctx, `SELECT MAX(seq) FROM audit_log WHERE time_ns < ?`, cutoff).Scan(&seq); err != nil {
			return plan, fmt.Errorf("find old audit entries: %w", err)
		}
		if seq != nil {
			byAge = uint64(*seq)
		}
	}
	if maxEntries > 0 && last+1 > uint64(maxEntries) {
		// After the purge the log holds last-to entries plus the purge entry.
		byCount = last + 1 - uint64(maxEntries)
	}
	to := max(byAge, byCount)
	l.holdMu.Lock()
	hold := l.hold
	l.holdMu.Unlock()
	for _, name := range hold {
		var cursor int64
		err := q.QueryRowContext(ctx, `SELECT value FROM audit_state WHERE key = ?`, forwardPrefix+name).Scan(&cursor)
		if errors.Is(err, sql.ErrNoRows) {
			cursor = 0
		} else if err != nil {
			return plan, fmt.Errorf("read forward cursor %s: %w", name, err)
		}
		if uint64(cursor) < to {
			to = uint64(cursor)
			plan.HeldFor = append(plan.HeldFor, name)
		}
	}
	if to < uint64(first) {
		return plan, nil
	}
	plan = PurgePlan{From: uint64(first), To: to, Count: to - uint64(first) + 1, HeldFor: plan.HeldFor}
	switch {
	case byAge == to && byCount == to:
		plan.Reason = "age and count"
	case byAge == to:
		plan.Reason = "age"
	default:
		plan.Reason = "count"
	}
	return plan, nil
}

// PlanRetention reports what EnforceRetention would delete, changing nothing.
func (l *Log) PlanRetention(ctx context.Context, maxAgeDays, maxEntries int) (PurgePlan, error) {
	var plan PurgePlan
	err := l.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		var err error
		plan, err = l.planPurge(ctx, q, maxAgeDays, maxEntries)
		return err
	})
	return plan, err
}

// EnforceRetention deletes the oldest entries beyond either limit and, in
// the same transaction, appends a retention_purge entry that records the
// purged range and the hash the remaining chain starts from. Within the
// limits it does nothing and appends nothing. Index rows of the purged
// entries are removed afterwards in bounded chunks.
func (l *Log) EnforceRetention(ctx context.Context, maxAgeDays, maxEntries int) (deleted int, err error) {
	var plan PurgePlan
	var entry Entry
	var seal *sealTx
	defer func() { seal.close() }()
	err = l.db.Write(ctx, func(ctx context.Context, tx store.Queryer) error {
		var err error
		plan, err = l.planPurge(ctx, tx, maxAgeDays, maxEntries)
		if err != nil || plan.To == 0 {
			return err
		}
		if l.seal != nil {
			// Compare the head record with the chain before the purge
			// changes it.
			last, lastHash, err := head(ctx, tx)
			if err != nil {
				return err
			}
			if seal, err = l.seal.begin(ctx, tx, last, lastHash); err != nil {
				return err
			}
		}
		var anchor []byte
		if err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, int64(plan.To)).Scan(&anchor); err != nil {
			return fmt.Errorf("read purge anchor %d: %w", plan.To, err)
		}
		// The purge entry continues the chain from its end, read before the
		// delete: a purge may take every entry (max_entries 1), and then
		// the table alone would start the chain over from the genesis.
		seq, prev, err := head(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE seq <= ?`, int64(plan.To)); err != nil {
			return fmt.Errorf("purge audit entries: %w", err)
		}
		d := map[string]any{
			"purged_from": plan.From, "purged_to": plan.To, "count": plan.Count,
			"anchor_hash": hex.EncodeToString(anchor), "reason": plan.Reason,
			"max_age_days": maxAgeDays, "max_entries": maxEntries,
		}
		if seal != nil {
			// The purge may delete the audit.seal entry that says the log
			// is sealed; this keeps saying it, so that deleting the head
			// record later is still told from a log never sealed.
			d["head_sealed"] = true
		}
		details, err := CanonicalDetails(d)
		if err != nil {
			return err
		}
		if seal != nil {
			if err := l.writeMarker(ctx, tx, seal, &seq, &prev); err != nil {
				return err
			}
		}
		entry = Entry{Time: l.now().UTC(), Actor: "system", Action: ActionRetentionPurge,
			Target: "audit_log", Outcome: OutcomeSuccess, Details: details}
		if err := l.insert(ctx, tx, &entry, &seq, &prev); err != nil {
			return fmt.Errorf("record the purge: %w", err)
		}
		return nil
	})
	if err == nil && seal != nil {
		if err = seal.finish(entry.Seq, entry.Hash); err != nil {
			err = fmt.Errorf("seal the audit log head: %w", err)
		}
	}
	if err != nil {
		return 0, &AppendError{Err: err}
	}
	return int(plan.Count), nil
}
