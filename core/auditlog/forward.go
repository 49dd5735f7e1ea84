package auditlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/warden-sec/warden/core/store"
)

// Destination receives copies of audit entries (a syslog server, an HTTP
// endpoint). Send returns nil only once the batch is accepted; entries are
// then never sent again.
type Destination interface {
	Name() string
	Send(ctx context.Context, entries []Entry) error
	Close() error
}

const forwardPrefix = "forward:"

// forwardCursor returns the last seq delivered to dest (0 for a new
// destination, which then receives every entry the log still holds).
func (l *Log) forwardCursor(ctx context.Context, name string) (uint64, error) {
	var cursor int64
	found := true
	err := l.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		err := q.QueryRowContext(ctx, `SELECT value FROM audit_state WHERE key = ?`, forwardPrefix+name).Scan(&cursor)
		if errors.Is(err, sql.ErrNoRows) {
			found = false
			return nil
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read forward cursor %s: %w", name, err)
	}
	if !found {
		return 0, nil
	}
	return uint64(cursor), nil
}

func (l *Log) setForwardCursor(ctx context.Context, name string, seq uint64) error {
	return l.db.Write(ctx, func(ctx context.Context, tx store.Queryer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			forwardPrefix+name, int64(seq))
		return err
	})
}

// ForwardOnce sends every entry after dest's cursor, in batches, advancing
// the cursor after each accepted batch. The cursor lives in the database,
// so delivery resumes where it stopped after a restart; a batch cut short
// by a crash between acceptance and the cursor update is sent again (its
// entries carry their hashes, so receivers can drop duplicates).
func (l *Log) ForwardOnce(ctx context.Context, dest Destination, batch int) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	cursor, err := l.forwardCursor(ctx, dest.Name())
	if err != nil {
		return 0, err
	}
	sent := 0
	for {
		var entries []Entry
		err := l.Each(ctx, cursor+1, time.Time{}, func(e Entry) error {
			entries = append(entries, e)
			if len(entries) == batch {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return sent, err
		}
		if len(entries) == 0 {
			return sent, nil
		}
		if err := dest.Send(ctx, entries); err != nil {
			return sent, fmt.Errorf("forward to %s: %w", dest.Name(), err)
		}
		cursor = entries[len(entries)-1].Seq
		if err := l.setForwardCursor(ctx, dest.Name(), cursor); err != nil {
			return sent, fmt.Errorf("record forward cursor %s: %w", dest.Name(), err)
		}
		sent += len(entries)
	}
}

var errStop = errors.New("stop")

// ForwardStatus reports a destination's position.
type ForwardStatus struct {
	Name    string `json:"name"`
	Cursor  uint64 `json:"cursor"`
	Pending uint64 `json:"pending"`
}

// ForwardState reports how far each destination got.
func (l *Log) ForwardState(ctx context.Context, names []string) ([]ForwardStatus, error) {
	h, err := l.Head(ctx)
	if err != nil {
		return nil, err
	}
	var out []ForwardStatus
	for _, n := range names {
		c, err := l.forwardCursor(ctx, n)
		if err != nil {
			return nil, err
		}
		st := ForwardStatus{Name: n, Cursor: c}
		if h.Seq > c {
			st.Pending = h.Seq - c
		}
		out = append(out, st)
	}
	return out, nil
}

// Forward runs ForwardOnce for each destination until ctx ends, every
// interval and whenever entries are committed in this process, retrying
// failed destinations with backoff. It returns when ctx is done, after the
// batch in flight (if any) is settled.
func (l *Log) Forward(ctx context.Context, dests []Destination, interval time.Duration, onErr func(error)) {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	backoff := map[string]time.Duration{}
	nextTry := map[string]time.Time{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for _, d := range dests {
			if time.Now().Before(nextTry[d.Name()]) {
				continue
			}
			// Delivery itself is not cancelled by ctx: a send in flight is
			// finished and recorded, so a restart does not repeat it.
			sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			_, err := l.ForwardOnce(sendCtx, d, 0)
			cancel()
			if err != nil {
				if onErr != nil {
					onErr(err)
				}
				b := max(backoff[d.Name()]*2, time.Second)
				backoff[d.Name()] = min(b, 5*time.Minute)
				nextTry[d.Name()] = time.Now().Add(backoff[d.Name()])
				continue
			}
			backoff[d.Name()] = 0
			if ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-l.forwardKick:
		}
	}
}
