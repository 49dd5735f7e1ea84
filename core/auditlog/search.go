package auditlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/warden-sec/warden/core/store"
)

// Query selects entries for Search.
type Query struct {
	// Text is matched against actor, action, target, outcome and details:
	// every word must occur (punctuation included, as a phrase); a
	// trailing * matches a prefix.
	Text   string
	Since  time.Time
	Until  time.Time
	Actor  string // exact
	Action string // exact, or a prefix ending in '.' or '*' (secret.*)
	Limit  int    // default 50
}

// ErrQuery is wrapped by errors in a search query.
var ErrQuery = errors.New("invalid search query")

// Bounds on a search query. Nothing in the log is longer than a few
// hundred characters per word, and each word is one more phrase for the
// index to intersect: longer queries are mistakes or attempts to make the
// search expensive.
const (
	MaxQueryBytes  = 1024 // Text
	MaxQueryWords  = 32   // words in Text
	MaxFilterBytes = 256  // Actor, Action
)

// Validate checks what a caller typed before anything is searched (or
// audited as searched): text that is UTF-8, without control characters
// (SQLite ends a query string at a NUL byte; nothing the log holds
// contains one, since details are JSON with control characters escaped),
// within the bounds above, and no lone *. Quotes, parentheses and FTS5
// operators are fine: every word is searched literally.
func (q Query) Validate() error {
	if err := checkQueryText("search text", q.Text, MaxQueryBytes); err != nil {
		return err
	}
	if err := checkQueryText("actor", q.Actor, MaxFilterBytes); err != nil {
		return err
	}
	if err := checkQueryText("action", q.Action, MaxFilterBytes); err != nil {
		return err
	}
	if n := len(strings.Fields(q.Text)); n > MaxQueryWords {
		return fmt.Errorf("%w: %d words; search for at most %d", ErrQuery, n, MaxQueryWords)
	}
	_, err := ftsQuery(q.Text)
	return err
}

// checkQueryText checks one field of a query.
func checkQueryText(what, s string, limit int) error {
	if len(s) > limit {
		return fmt.Errorf("%w: %s is %d bytes long; the limit is %d", ErrQuery, what, len(s), limit)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrQuery, what)
	}
	for i, r := range s {
		// Tabs and line breaks separate words; other control characters
		// match nothing and a NUL would cut the query short.
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return fmt.Errorf("%w: %s has a control character (U+%04X) at byte %d", ErrQuery, what, r, i)
		}
	}
	return nil
}

// Search returns matching entries, newest first. It first brings the index
// up to date; if that fails (say, a read-only database) it searches what is
// indexed.
func (l *Log) Search(ctx context.Context, q Query) ([]Entry, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	match, err := ftsQuery(q.Text)
	if err != nil {
		return nil, err
	}
	if match != "" {
		if _, err := l.IndexPending(ctx); err != nil && ctx.Err() != nil {
			return nil, err
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	keep := func(e Entry) bool {
		switch {
		case !q.Since.IsZero() && e.Time.Before(q.Since):
			return false
		case !q.Until.IsZero() && !e.Time.Before(q.Until):
			return false
		case q.Actor != "" && e.Actor != q.Actor:
			return false
		case q.Action != "" && !actionMatches(q.Action, e.Action):
			return false
		}
		return true
	}
	page := limit
	if q.Actor != "" || q.Action != "" || !q.Since.IsZero() || !q.Until.IsZero() {
		page = max(4*limit, 200)
	}
	var out []Entry
	var before int64 = -1 // seq bound for the next page; -1: from the newest
	for len(out) < limit {
		seqs, err := l.candidates(ctx, match, q, before, page)
		if err != nil {
			return nil, err
		}
		if len(seqs) == 0 {
			break
		}
		entries, err := l.fetch(ctx, seqs)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if keep(e) && len(out) < limit {
				out = append(out, e)
			}
		}
		before = seqs[len(seqs)-1]
		if len(seqs) < page {
			break
		}
	}
	return out, nil
}

// candidates returns up to n sequence numbers below before (newest first):
// from the index when there is text to match, else from the log itself.
func (l *Log) candidates(ctx context.Context, match string, q Query, before int64, n int) ([]int64, error) {
	var seqs []int64
	collect := func(ctx context.Context, rq store.Queryer, query string, args ...any) error {
		rows, err := rq.QueryContext(ctx, query, args...)
		if err != nil {
			if strings.Contains(err.Error(), "fts5") {
				return fmt.Errorf("%w: %v", ErrQuery, err)
			}
			return fmt.Errorf("search audit log: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var s int64
			if err := rows.Scan(&s); err != nil {
				return err
			}
			seqs = append(seqs, s)
		}
		return rows.Err()
	}
	bound := before
	if bound < 0 {
		bound = 1<<62 - 1
	}
	if match != "" {
		err := l.index.Read(ctx, func(ctx context.Context, rq store.Queryer) error {
			return collect(ctx, rq, `SELECT rowid FROM audit_fts WHERE audit_fts MATCH ? AND rowid < ? ORDER BY rowid DESC LIMIT ?`, match, bound, n)
		})
		return seqs, err
	}
	err := l.db.Read(ctx, func(ctx context.Context, rq store.Queryer) error {
		query := `SELECT seq FROM audit_log WHERE seq < ?`
		args := []any{bound}
		if !q.Since.IsZero() {
			query += ` AND time_ns >= ?`
			args = append(args, q.Since.UnixNano())
		}
		if !q.Until.IsZero() {
			query += ` AND time_ns < ?`
			args = append(args, q.Until.UnixNano())
		}
		return collect(ctx, rq, query+` ORDER BY seq DESC LIMIT ?`, append(args, n)...)
	})
	return seqs, err
}

// fetch reads entries by sequence number, newest first; numbers that are
// gone (purged) are skipped.
func (l *Log) fetch(ctx context.Context, seqs []int64) ([]Entry, error) {
	var out []Entry
	err := l.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		var in strings.Builder
		args := make([]any, len(seqs))
		for i, s := range seqs {
			if i > 0 {
				in.WriteByte(',')
			}
			in.WriteByte('?')
			args[i] = s
		}
		rows, err := q.QueryContext(ctx, `SELECT seq, body, prev_hash, hash FROM audit_log WHERE seq IN (`+in.String()+`) ORDER BY seq DESC`, args...)
		if err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				continue // damaged; Verify reports it
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

func actionMatches(filter, action string) bool {
	if p, ok := strings.CutSuffix(filter, "*"); ok {
		return strings.HasPrefix(action, p)
	}
	if strings.HasSuffix(filter, ".") {
		return strings.HasPrefix(action, filter)
	}
	return action == filter
}

// ftsQuery turns user words into an FTS5 query: each word is a phrase
// (quoted, so punctuation and FTS5 operators are literal, and a stray
// quote is doubled, not unbalanced); a trailing * makes it a prefix. The
// text has passed Validate, or fails here only for a lone *.
func ftsQuery(text string) (string, error) {
	var parts []string
	for _, w := range strings.Fields(text) {
		prefix := strings.HasSuffix(w, "*")
		w = strings.TrimSuffix(w, "*")
		if w == "" {
			return "", fmt.Errorf("%w: a lone *; put it after a word to match a prefix, as in sess*", ErrQuery)
		}
		p := `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		if prefix {
			p += "*"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " "), nil
}
