package gitpack

import (
	"context"
	"fmt"
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
)

// scanBlock is how many entries, in pack order, a worker takes at a time.
const scanBlock = 512

// maxPopulate is the largest pack whose pages a scan maps all at once.
const maxPopulate = 1 << 30

// Scan calls fn with every object of type t stored whole in the packs (an
// object stored as a delta is left out: Read resolves it), from workers
// goroutines at once, in pack order within each worker's share: the
// objects of one type are usually stored together (git writes commits
// first), so a scan reads them in a row. data is valid only during the
// call. The first error stops the scan.
func (s *Store) Scan(ctx context.Context, t Type, workers int, fn func(worker int, r Ref, data []byte) error) error {
	workers = max(workers, 1)
	// The pages are mapped while the entries are sorted: all at once
	// rather than a fault every few pages, which the workers would take in
	// turn on the same mapping.
	var mapped sync.WaitGroup
	for _, p := range s.packs {
		if len(p.data) <= maxPopulate {
			mapped.Go(func() { populate(p.data) })
		}
	}
	defer mapped.Wait()
	type job struct {
		p *pack
		e entries
	}
	var jobs []job
	for _, p := range s.packs {
		e, err := p.order(workers)
		if err != nil {
			return err
		}
		for i := 0; i < e.len(); i += scanBlock {
			jobs = append(jobs, job{p, e.slice(i, min(i+scanBlock, e.len()))})
		}
	}
	mapped.Wait()
	var (
		next   atomic.Int64
		failed atomic.Bool
		once   sync.Once
		first  error
		wg     sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() { first = err })
		failed.Store(true)
	}
	for w := range workers {
		wg.Go(func() {
			z := &Inflater{}
			for !failed.Load() {
				k := int(next.Add(1) - 1)
				if k >= len(jobs) {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				if err := z.scan(jobs[k].p, jobs[k].e, t, func(i int, data []byte) error {
					return fn(w, Ref(jobs[k].p.base+i), data)
				}); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// scan inflates the objects of type t stored whole among e.
func (z *Inflater) scan(p *pack, e entries, t Type, fn func(i int, data []byte) error) error {
	for n := range e.len() {
		off, i := e.at(n)
		if Type(p.data[off]>>4)&7 != t {
			continue
		}
		h, err := p.header(off)
		if err != nil {
			return err
		}
		if h.size > uint64(len(p.data))*1032 {
			return fmt.Errorf("%s: object size %d at %d: %w", p.name, h.size, off, ErrUnsupported)
		}
		if uint64(cap(z.buf)) < h.size {
			z.buf = make([]byte, h.size)
		}
		buf := z.buf[:h.size]
		if err := z.inflate(p.data[h.at:len(p.data)-20], buf); err != nil {
			return fmt.Errorf("%s: object at %d: %w", p.name, off, err)
		}
		if err := fn(i, buf); err != nil {
			return err
		}
	}
	return nil
}

// entries lists index entries in pack order.
type entries struct {
	keys []uint64 // offset<<32 | entry, for packs under 4 GiB
	offs []uint64 // else each offset,
	idx  []uint32 // and entry
}

func (e entries) len() int {
	if e.keys != nil {
		return len(e.keys)
	}
	return len(e.offs)
}

func (e entries) at(n int) (off uint64, i int) {
	if e.keys != nil {
		return e.keys[n] >> 32, int(uint32(e.keys[n]))
	}
	return e.offs[n], int(e.idx[n])
}

func (e entries) slice(i, j int) entries {
	if e.keys != nil {
		return entries{keys: e.keys[i:j]}
	}
	return entries{offs: e.offs[i:j], idx: e.idx[i:j]}
}

// order returns the pack's index entries sorted by offset, by workers
// goroutines.
func (p *pack) order(workers int) (entries, error) {
	if uint64(len(p.data)) >= 1<<32 {
		// Packs of 4 GiB and more: a plain sort.
		e := entries{offs: make([]uint64, p.n), idx: make([]uint32, p.n)}
		for i := range p.n {
			off, err := p.offset(i)
			if err != nil {
				return entries{}, err
			}
			e.offs[i], e.idx[i] = off, uint32(i)
		}
		sort.Sort(byOffset(e))
		return e, nil
	}
	// A radix sort of the keys by offset, in passes of 11 bits (as many as
	// the pack's size needs), whose counting and moving are shared out
	// between the workers.
	keys, tmp := make([]uint64, p.n), make([]uint64, p.n)
	workers = max(1, min(workers, p.n/4096))
	part := func(w int) (int, int) { return p.n * w / workers, p.n * (w + 1) / workers }
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			from, to := part(w)
			for i := from; i < to; i++ {
				off, err := p.offset(i)
				if err != nil {
					errs[w] = err
					return
				}
				keys[i] = off<<32 | uint64(i)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return entries{}, err
		}
	}
	const radix = 11
	counts := make([][1 << radix]int, workers)
	for shift := 32; shift < 32+bits.Len(uint(len(p.data))); shift += radix {
		for w := range workers {
			wg.Go(func() {
				from, to := part(w)
				c := &counts[w]
				*c = [1 << radix]int{}
				for _, k := range keys[from:to] {
					c[(k>>shift)&(1<<radix-1)]++
				}
			})
		}
		wg.Wait()
		// Each worker's start in each bucket: after the smaller buckets,
		// and after the earlier workers' share of this one.
		sum := 0
		for b := range 1 << radix {
			for w := range workers {
				c := counts[w][b]
				counts[w][b] = sum
				sum += c
			}
		}
		for w := range workers {
			wg.Go(func() {
				from, to := part(w)
				c := &counts[w]
				for _, k := range keys[from:to] {
					b := (k >> shift) & (1<<radix - 1)
					tmp[c[b]] = k
					c[b]++
				}
			})
		}
		wg.Wait()
		keys, tmp = tmp, keys
	}
	return entries{keys: keys}, nil
}

type byOffset entries

func (b byOffset) Len() int           { return len(b.offs) }
func (b byOffset) Less(i, j int) bool { return b.offs[i] < b.offs[j] }
func (b byOffset) Swap(i, j int) {
	b.offs[i], b.offs[j] = b.offs[j], b.offs[i]
	b.idx[i], b.idx[j] = b.idx[j], b.idx[i]
}
