package auditlog

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-sec/warden/core/store"
)

// KeySize is the length of the HMAC key.
const KeySize = 32

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit log is closed")

// AppendError means an entry could not be made durable: the action it
// records must not go ahead.
type AppendError struct{ Err error }

func (e *AppendError) Error() string { return "audit log append failed: " + e.Err.Error() }
func (e *AppendError) Unwrap() error { return e.Err }

// Options tune a Log.
type Options struct {
	// Now is the clock (tests fix it); default time.Now.
	Now func() time.Time
	// MaxBatch bounds how many appends share one transaction (default 512).
	MaxBatch int
	// IndexBatch is how many entries the full-text index takes at once
	// (default 4096).
	IndexBatch int
	// IndexPath is the search index database (default audit-index.db
	// beside the store's file).
	IndexPath string
	// HeadFile is where the sealed head record lives (HeadFileName in the
	// state dir). Each commit seals the new end of the chain there before
	// its appends return, so Verify names entries cut from the end. Empty
	// turns sealing off; every log opened from a state dir sets it.
	HeadFile string
}

// Log is the audit log over a store.
type Log struct {
	db   *store.Store
	key  []byte
	now  func() time.Time
	seal *sealer // nil when sealing is off

	maxBatch   int
	indexBatch int

	index   *store.Store // the search index, a separate database
	indexMu sync.Mutex   // one index writer per process at a time

	queue chan *pending
	kick  chan struct{}
	// forwardKick wakes Forward after commits.
	forwardKick chan struct{}
	behind      atomic.Int64 // entries committed since the index last caught up
	done        chan struct{}
	indexDone   chan struct{}
	closed      chan struct{}
	once        sync.Once

	holdMu sync.Mutex
	hold   []string // forwarding destinations retention waits for

	reserve reserve // disk space kept for the log (KeepReserve)
}

type pending struct {
	ctx     context.Context
	entries []Entry // written together, in this order
	err     chan error
}

// Open starts a Log that appends with key (KeySize bytes).
func Open(ctx context.Context, db *store.Store, key []byte, opts Options) (*Log, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("audit key is %d bytes, want %d", len(key), KeySize)
	}
	l := &Log{db: db, key: append([]byte(nil), key...), now: opts.Now, maxBatch: opts.MaxBatch, indexBatch: opts.IndexBatch,
		queue: make(chan *pending, 1024), kick: make(chan struct{}, 1), forwardKick: make(chan struct{}, 1), done: make(chan struct{}),
		indexDone: make(chan struct{}), closed: make(chan struct{})}
	if l.now == nil {
		l.now = time.Now
	}
	if l.maxBatch <= 0 {
		l.maxBatch = 512
	}
	if l.indexBatch <= 0 {
		l.indexBatch = 4096
	}
	if opts.HeadFile != "" {
		// Nothing is written here: read-only commands open the log too.
		// The first commit creates the record, or starts sealing an older
		// log that has none.
		l.seal = newSealer(opts.HeadFile, l.key)
	}
	// Reading the head checks the schema is there and the database is readable.
	if _, err := l.Head(ctx); err != nil {
		return nil, err
	}
	indexPath := opts.IndexPath
	if indexPath == "" {
		indexPath = defaultIndexPath(db)
	}
	index, err := openIndex(ctx, indexPath)
	if err != nil {
		return nil, fmt.Errorf("open audit search index: %w", err)
	}
	l.index = index
	go l.commitLoop()
	go l.indexLoop()
	return l, nil
}

// Close stops accepting appends, waits for those queued and closes the
// search index. The store stays open.
func (l *Log) Close() error {
	l.once.Do(func() { close(l.closed) })
	<-l.done
	<-l.indexDone
	// Entries not indexed yet stay so: the index is derived data, and
	// Search brings it up to date before it reads. Indexing here would
	// make every short-lived command pay for it.
	return l.index.Close()
}

// Append records an event and returns once it is durable. An error means
// nothing was recorded; the caller must not perform the action. Events
// held by a Deferred in ctx are written first, in the same transaction.
func (l *Log) Append(ctx context.Context, ev Event) (Entry, error) {
	held := DeferredFrom(ctx).take()
	p := &pending{ctx: ctx, err: make(chan error, 1), entries: make([]Entry, 0, len(held)+1)}
	for _, e := range append(held, ev) {
		entry, err := l.entry(e)
		if err != nil {
			return Entry{}, &AppendError{Err: err}
		}
		p.entries = append(p.entries, entry)
	}
	select {
	case <-l.closed:
		return Entry{}, &AppendError{Err: ErrClosed}
	default:
	}
	select {
	case l.queue <- p:
	case <-ctx.Done():
		return Entry{}, &AppendError{Err: ctx.Err()}
	case <-l.closed:
		return Entry{}, &AppendError{Err: ErrClosed}
	}
	// Once queued the entry may be committed whatever happens to ctx, so
	// wait for the verdict: reporting failure for a recorded entry would
	// make the caller refuse an action the log says happened.
	if err := <-p.err; err != nil {
		return Entry{}, &AppendError{Err: err}
	}
	return p.entries[len(p.entries)-1], nil
}

// entry turns an event into an entry without its place in the chain.
func (l *Log) entry(ev Event) (Entry, error) {
	details, err := CanonicalDetails(ev.Details)
	if err != nil {
		return Entry{}, err
	}
	t := ev.Time
	if t.IsZero() {
		t = l.now()
	}
	return Entry{Time: t.UTC(), Actor: clip(ev.Actor), Action: clip(ev.Action), Target: clip(ev.Target),
		Outcome: clip(ev.Outcome), SourceIP: clip(ev.SourceIP), Details: details}, nil
}

// commitLoop is the single committer: it drains the queue into batches
// and writes each batch in one transaction (group commit).
func (l *Log) commitLoop() {
	defer close(l.done)
	batch := make([]*pending, 0, l.maxBatch)
	for {
		var first *pending
		select {
		case first = <-l.queue:
		case <-l.closed:
			// Drain what was queued before Close.
			for {
				select {
				case p := <-l.queue:
					l.commit([]*pending{p})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < l.maxBatch {
			select {
			case p := <-l.queue:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		l.commit(batch)
		for _, k := range []chan struct{}{l.kick, l.forwardKick} {
			select {
			case k <- struct{}{}:
			default:
			}
		}
	}
}

func (l *Log) commit(batch []*pending) {
	live := batch[:0:0]
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.err <- err
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	var seal *sealTx
	defer func() { seal.close() }()
	var last uint64
	var lastHash []byte
	try := func(ctx context.Context, tx store.Queryer) error {
		seq, prev, err := head(ctx, tx)
		if err != nil {
			return err
		}
		if l.seal != nil {
			if seal, err = l.seal.begin(ctx, tx, seq, prev); err != nil {
				return err
			}
			if err := l.writeMarker(ctx, tx, seal, &seq, &prev); err != nil {
				return err
			}
		}
		for _, p := range live {
			for i := range p.entries {
				if err := l.insert(ctx, tx, &p.entries[i], &seq, &prev); err != nil {
					return err
				}
			}
		}
		last, lastHash = seq, prev
		return nil
	}
	err := l.db.Write(context.Background(), try)
	if err != nil && diskFull(err) && l.reserve.release() {
		// The disk is full: give the log the room kept for it and try
		// again, so that a full disk refuses commands, not the record
		// of them.
		seal.close()
		seal = nil
		err = l.db.Write(context.Background(), try)
	}
	if err == nil {
		n := 0
		for _, p := range live {
			n += len(p.entries)
		}
		l.behind.Add(int64(n))
		if seal != nil {
			// Fail closed here too: an append is acknowledged only once
			// the head record vouches for it. The entries stay in the
			// chain, as after a crash right after the commit, and the
			// next commit seals them.
			if err = seal.finish(last, lastHash); err != nil {
				err = fmt.Errorf("seal the audit log head: %w", err)
			}
		}
	}
	for _, p := range live {
		p.err <- err
	}
}

// insert chains e after (seq, prev), writes it and advances both.
func (l *Log) insert(ctx context.Context, tx store.Queryer, e *Entry, seq *uint64, prev *[]byte) error {
	*seq++
	e.Seq = *seq
	body := e.Encode()
	e.PrevHash = *prev
	e.Hash = l.mac(*prev, body)
	if _, err := tx.ExecContext(ctx, insertEntry, int64(e.Seq), e.Time.UnixNano(), body, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("insert audit entry %d: %w", e.Seq, err)
	}
	*prev = e.Hash
	return nil
}

// writeMarker writes the audit.seal entry begin asked for, if any.
func (l *Log) writeMarker(ctx context.Context, tx store.Queryer, seal *sealTx, seq *uint64, prev *[]byte) error {
	if seal.marker == nil {
		return nil
	}
	e, err := l.entry(*seal.marker)
	if err != nil {
		return err
	}
	if err := l.insert(ctx, tx, &e, seq, prev); err != nil {
		return err
	}
	seal.marked(e.Seq)
	return nil
}

const insertEntry = `INSERT INTO audit_log (seq, time_ns, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?)`

func (l *Log) mac(prev, body []byte) []byte {
	m := hmac.New(sha256.New, l.key)
	m.Write(prev)
	m.Write(body)
	return m.Sum(nil)
}

// genesis is the previous hash of the very first entry.
var genesis = make([]byte, sha256.Size)

// head returns the last entry's seq and hash, or 0 and the genesis hash.
func head(ctx context.Context, q store.Queryer) (uint64, []byte, error) {
	var seq int64
	var hash []byte
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, genesis, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read audit log head: %w", err)
	}
	return uint64(seq), hash, nil
}

// HeadInfo describes the ends of the chain: the newest entry's sequence
// number and hash (0 and the genesis hash when the log is empty), the
// oldest entry kept, and how many entries lie between.
type HeadInfo struct {
	Seq   uint64
	Hash  []byte
	First uint64 // the oldest entry kept (0 when empty)
	Count uint64
}

// Head reports the ends of the chain.
func (l *Log) Head(ctx context.Context) (HeadInfo, error) {
	var h HeadInfo
	err := l.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		seq, hash, err := head(ctx, q)
		if err != nil {
			return err
		}
		h.Seq, h.Hash = seq, hash
		if seq == 0 {
			return nil
		}
		var first int64
		if err := q.QueryRowContext(ctx, `SELECT MIN(seq) FROM audit_log`).Scan(&first); err != nil {
			return fmt.Errorf("read audit log range: %w", err)
		}
		// The chain is contiguous (Verify checks it); counting rows would
		// scan the whole table.
		h.First, h.Count = uint64(first), seq-uint64(first)+1
		return nil
	})
	return h, err
}

// Empty reports whether the log holds no entry.
func (l *Log) Empty(ctx context.Context) (bool, error) {
	h, err := l.Head(ctx)
	return h.Seq == 0, err
}
