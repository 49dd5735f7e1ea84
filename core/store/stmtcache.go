package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds each pool's prepared statement cache.
const maxCachedStmts = 128

// stmtCache holds statements prepared once on a pool, so repeated queries
// skip SQLite's parser (a third of the cost of a one-row read). A query is
// remembered when a transaction first runs it and prepared before the next
// transaction begins: preparing on the pool inside a transaction could wait
// for a connection the transaction itself holds. database/sql then prepares
// each statement once per connection, on first use there.
type stmtCache struct {
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	toPrep map[string]bool // run unprepared, to prepare before the next transaction
}

// get returns the prepared statement for query, or nil after noting query
// for preparePending.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st
	}
	if len(c.stmts) < maxCachedStmts {
		if c.toPrep == nil {
			c.toPrep = map[string]bool{}
		}
		c.toPrep[query] = true
	}
	return nil
}

// prepareSeen prepares on db the queries noted since the last call.
// Failures only mean no caching: the query runs unprepared and the error
// surfaces there.
func (c *stmtCache) prepareSeen(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	if len(c.toPrep) == 0 {
		c.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(c.toPrep))
	for q := range c.toPrep {
		queries = append(queries, q)
	}
	c.toPrep = nil
	c.mu.Unlock()
	// Prepare without holding the lock: another goroutine may be inside a
	// transaction holding a connection and need the lock to finish.
	prepared := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		if st, err := db.PrepareContext(ctx, q); err == nil {
			prepared[q] = st
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	for q, st := range prepared {
		// A full cache keeps what it has (statements in use are never
		// closed under a transaction); the rest run unprepared.
		if _, dup := c.stmts[q]; dup || len(c.stmts) >= maxCachedStmts {
			_ = st.Close()
			continue
		}
		c.stmts[q] = st
	}
}

// close closes every cached statement; the pool is closing.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		_ = st.Close()
	}
	c.stmts, c.toPrep = nil, nil
}

// cachedTx runs a transaction's statements through its pool's cache.
type cachedTx struct {
	*sql.Tx
	cache *stmtCache
}

func (t *cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.cache.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.cache.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.cache.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}
