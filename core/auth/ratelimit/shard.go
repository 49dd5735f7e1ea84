package ratelimit

import "sync"

// entry is the state of one tracked key.
type entry struct {
	key string
	// ts holds the failure times (nanoseconds since Limiter.base) in
	// ascending order; at most Rule.Attempts of them.
	ts []int64
	// notified records that a denial of the current blocking period has
	// been reported, so that later denials are not FirstDenial.
	notified bool
	// blocked tells which of the shard's heaps holds the entry.
	blocked bool
	// prio is the entry's key in its heap: when its block ends (blocked
	// heap) or when its last failure leaves the window (open heap).
	prio int64
	// index is the entry's position in its heap.
	index int
}

// insert adds the failure time t to e.ts, keeping it sorted; the caller
// has made room, so len(e.ts) < attempts. The backing array grows at most
// to attempts.
func (e *entry) insert(t int64, attempts int) {
	if len(e.ts) == cap(e.ts) {
		ts := make([]int64, len(e.ts), min(attempts, max(2*cap(e.ts), 1)))
		copy(ts, e.ts)
		e.ts = ts
	}
	i := len(e.ts)
	e.ts = append(e.ts, t)
	for i > 0 && e.ts[i-1] > t { // the clock went backwards
		e.ts[i] = e.ts[i-1]
		i--
	}
	e.ts[i] = t
}

// shard is one independently locked part of a Limiter.
type shard struct {
	mu      sync.Mutex
	limit   int // this shard's share of MaxKeys
	entries map[string]*entry
	// highWater is the most entries the map has held since it was made;
	// Go maps do not shrink, so Sweep rebuilds one that has emptied.
	highWater int
	// open holds the entries not known to be blocked, by expiry; blocked
	// holds the entries that were blocked when last changed, by the end
	// of their block. unblockExpired moves entries whose block has ended
	// from blocked to open.
	open    entryHeap
	blocked entryHeap
}

// heapOf returns the blocked or the open heap.
func (s *shard) heapOf(blocked bool) *entryHeap {
	if blocked {
		return &s.blocked
	}
	return &s.open
}

// remove stops tracking e.
func (s *shard) remove(e *entry) {
	s.heapOf(e.blocked).remove(e.index)
	delete(s.entries, e.key)
}

// unblockExpired moves the entries whose block has ended by now to the open
// heap, keyed by their expiry. Afterwards the blocked heap holds exactly the
// entries blocked at now.
func (s *shard) unblockExpired(now int64) {
	for len(s.blocked) > 0 && s.blocked[0].prio <= now {
		e := s.blocked[0]
		s.blocked.remove(0)
		// The block ended when ts[0] left the window, so the entry
		// expires when its last failure does: ts[0] + (last - first).
		e.prio += e.ts[len(e.ts)-1] - e.ts[0]
		e.blocked = false
		s.open.push(e)
	}
}

// evict makes room for one entry: it drops the unblocked entry closest to
// expiry or, when every entry is blocked, the one whose block ends first.
func (s *shard) evict(now int64) {
	s.unblockExpired(now)
	switch {
	case len(s.open) > 0:
		s.remove(s.open[0])
	case len(s.blocked) > 0:
		s.remove(s.blocked[0])
	}
}

// entryHeap is a binary min-heap of entries by prio that keeps each
// entry's index up to date.
type entryHeap []*entry

// push adds e.
func (h *entryHeap) push(e *entry) {
	e.index = len(*h)
	*h = append(*h, e)
	h.up(e.index)
}

// remove removes the entry at index i.
func (h *entryHeap) remove(i int) {
	old := *h
	last := len(old) - 1
	if i != last {
		old.swap(i, last)
	}
	old[last] = nil // let the entry be collected
	*h = old[:last]
	if i != last {
		h.fix(i)
	}
	// Shrink a mostly empty backing array, e.g. after a flood was swept.
	if c := cap(*h); c > 64 && len(*h) < c/4 {
		*h = append(entryHeap(nil), *h...)
	}
}

// fix restores the heap order after the prio of the entry at i changed.
func (h entryHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h entryHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h entryHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].prio <= h[i].prio {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down moves the entry at i down and reports whether it moved.
func (h entryHeap) down(i int) bool {
	start := i
	n := len(h)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h[r].prio < h[c].prio {
			c = r
		}
		if h[i].prio <= h[c].prio {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
}

// shrinkThreshold is the smallest high-water mark at which compact
// rebuilds a mostly empty map.
const shrinkThreshold = 1024

// compact rebuilds the map when it holds under a quarter of its high-water
// mark, releasing the memory a flood of keys left behind.
func (s *shard) compact() {
	if s.highWater < shrinkThreshold || len(s.entries) >= s.highWater/4 {
		return
	}
	m := make(map[string]*entry, len(s.entries))
	for k, e := range s.entries {
		m[k] = e
	}
	s.entries = m
	s.highWater = len(m)
}
