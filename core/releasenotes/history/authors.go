package history

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"runtime"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/warden-sec/warden/core/releasenotes/gitpack"
)

// Authors collects the lowercased author and co-author addresses of the
// commits reachable from start. coAuthors returns the co-authors' addresses
// of a message, which is valid only during the call; it may be called from
// several goroutines at once. known may give the whole set for a commit
// (from a cache), which ends the walk along that path; done, called after
// each commit, may end the walk early. complete is false when the walk
// ended early or at a shallow boundary.
//
// A walk that goes on past a few releases' worth of commits (finding that
// a contributor is new reads the whole history) reads every commit of the
// packs at once instead, in parallel, and goes on in memory over what it
// read: the same commits count, those reachable from start.
func (r *Repo) Authors(ctx context.Context, start string, coAuthors func(message []byte) []string,
	known func(commit string) (map[string]bool, bool), done func(set map[string]bool) bool) (set map[string]bool, complete bool, err error) {
	if start == "" {
		return map[string]bool{}, true, nil
	}
	// A shallow clone's boundary ends the date-ordered walk where it meets
	// it; that walk alone keeps that behaviour.
	if r.packs != nil && !r.Shallow() {
		set, complete, err := r.authorsPacked(ctx, plumbing.NewHash(start), coAuthors, known, done, lazyLimit)
		if err == nil || ctx.Err() != nil {
			return set, complete, err
		}
		// Something unexpected (an object neither gitpack nor go-git
		// reads as a commit): the walk gives the answer or the error.
	}
	return r.authorsWalk(ctx, start, coAuthors, known, done)
}

// lazyLimit is how many commits Authors reads one at a time before it
// reads all the packs' commits at once: enough for releases whose
// contributors all committed recently, or for a cache entry a release or
// two back.
const lazyLimit = 1024

// authorsWalk is Authors as a date-ordered walk through go-git.
func (r *Repo) authorsWalk(ctx context.Context, start string, coAuthors func(message []byte) []string,
	known func(commit string) (map[string]bool, bool), done func(set map[string]bool) bool) (set map[string]bool, complete bool, err error) {
	set = map[string]bool{}
	complete = true
	err = r.walkFrom(ctx, []plumbing.Hash{plumbing.NewHash(start)}, func(h plumbing.Hash, c *object.Commit) (step, error) {
		// Nothing reads these commits again: keep memory flat over a
		// walk of the whole history.
		delete(r.commits, h)
		if known != nil {
			if k, ok := known(h.String()); ok {
				for a := range k {
					set[a] = true
				}
				return prune, nil
			}
		}
		for _, a := range commitAuthorsOf(c, coAuthors) {
			set[a] = true
		}
		if done != nil && done(set) {
			complete = false
			return stop, nil
		}
		return next, nil
	})
	var se *ShallowError
	if errors.As(err, &se) {
		// Beyond the boundary nobody is known: what was found stands,
		// rather than failing notes that are otherwise complete.
		return set, false, nil
	}
	return set, complete, err
}

// commitAuthorsOf returns the lowercased author and co-author addresses of
// a commit go-git decoded.
func commitAuthorsOf(c *object.Commit, coAuthors func(message []byte) []string) []string {
	out := []string{strings.ToLower(c.Author.Email)}
	if coAuthors != nil {
		for _, e := range coAuthors([]byte(c.Message)) {
			out = append(out, strings.ToLower(e))
		}
	}
	return out
}

// commitAuthors is what Authors needs of a commit.
type commitAuthors struct {
	parents []plumbing.Hash
	authors []string // lowercased, the author first
	seen    bool     // queued by the walk
}

// authorsPacked is Authors over a repository with packs: a breadth-first
// walk that reads its first lazy commits one at a time, then reads every
// commit of the packs in one parallel scan and goes on over what it read.
// Any error means the caller walks instead.
func (r *Repo) authorsPacked(ctx context.Context, start plumbing.Hash, coAuthors func(message []byte) []string,
	known func(commit string) (map[string]bool, bool), done func(set map[string]bool) bool, lazy int) (map[string]bool, bool, error) {
	set := map[string]bool{}
	var scanned *commitTable
	// A queued commit, with what the scan read of it (nil: not read yet).
	type queued struct {
		h plumbing.Hash
		c *commitAuthors
	}
	seen := map[plumbing.Hash]bool{} // queued commits the scan did not read
	mark := func(h plumbing.Hash) (queued, bool) {
		if c := scanned.get(h); c != nil {
			if c.seen {
				return queued{}, false
			}
			c.seen = true
			return queued{h, c}, true
		}
		if seen[h] {
			return queued{}, false
		}
		seen[h] = true
		return queued{h: h}, true
	}
	one := &commitParser{emails: map[string]string{}, coAuthors: coAuthors}
	z := &gitpack.Inflater{}
	first, _ := mark(start)
	queue := []queued{first}
	for i := 0; i < len(queue); i++ {
		if i&1023 == 0 && ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		if i == lazy && scanned == nil {
			var err error
			if scanned, err = r.scanCommits(ctx, coAuthors); err != nil {
				return nil, false, err
			}
			for h := range seen {
				if c := scanned.get(h); c != nil {
					c.seen = true
				}
			}
			// The rest of the queue, with what the scan read, and room
			// to reach every commit without growing.
			rest := make([]queued, 0, len(queue)-i+len(scanned.names))
			for _, q := range queue[i:] {
				rest = append(rest, queued{q.h, scanned.get(q.h)})
			}
			queue, i = rest, 0
		}
		q := queue[i]
		if known != nil {
			if k, ok := known(q.h.String()); ok {
				for a := range k {
					set[a] = true
				}
				continue
			}
		}
		ca := q.c
		if ca == nil {
			// Read one by one: before the scan, and after it a commit
			// stored loose or as a delta.
			var err error
			if ca, err = r.readCommit(q.h, one, z); err != nil {
				return nil, false, err
			}
		}
		for _, a := range ca.authors {
			set[a] = true
		}
		if done != nil && done(set) {
			return set, false, nil
		}
		for _, p := range ca.parents {
			if next, ok := mark(p); ok {
				queue = append(queue, next)
			}
		}
	}
	return set, true, nil
}

// readCommit reads one commit: from the packs with p, else through go-git.
func (r *Repo) readCommit(h plumbing.Hash, p *commitParser, z *gitpack.Inflater) (*commitAuthors, error) {
	if ref, ok := r.packs.Find(h[:]); ok {
		if t, data, err := r.packs.Read(ref, z); err == nil && t == gitpack.Commit {
			if c := p.parse(data); c != nil {
				return c, nil
			}
		}
	}
	c, err := object.GetCommit(r.r.Storer, h)
	if err != nil {
		return nil, err
	}
	return &commitAuthors{parents: c.ParentHashes, authors: commitAuthorsOf(c, p.coAuthors)}, nil
}

// commitTable holds the commits a scan read, found by name through a
// sorted list of their names and a fan-out on the names' first two bytes.
type commitTable struct {
	names   []plumbing.Hash
	entries []*commitAuthors // of names[i]
	fanout  []int32          // names[fanout[p]:fanout[p+1]] start with the two bytes p
}

func (t *commitTable) get(h plumbing.Hash) *commitAuthors {
	if t == nil {
		return nil
	}
	p := int(h[0])<<8 | int(h[1])
	for i := t.fanout[p]; i < t.fanout[p+1]; i++ {
		if t.names[i] == h {
			return t.entries[i]
		}
	}
	return nil
}

// scanCommits reads every commit stored whole in the packs, on all CPUs.
// A commit it cannot parse is left out (if the walk reaches it, go-git
// reads it, or says why not).
func (r *Repo) scanCommits(ctx context.Context, coAuthors func(message []byte) []string) (*commitTable, error) {
	pk := r.packs
	workers := min(runtime.GOMAXPROCS(0), 8)
	parsers := make([]*commitParser, workers)
	for w := range parsers {
		parsers[w] = &commitParser{emails: map[string]string{}, coAuthors: coAuthors}
	}
	// Each commit's place in the packs' indexes (as its worker and its
	// number there, plus one), so that one pass over them in order gives
	// the names sorted.
	at := make([]uint32, pk.Len())
	lists := make([][]*commitAuthors, workers)
	err := pk.Scan(ctx, gitpack.Commit, workers, func(w int, ref gitpack.Ref, data []byte) error {
		if c := parsers[w].parse(data); c != nil {
			lists[w] = append(lists[w], c)
			at[ref] = uint32(len(lists[w]))<<3 | uint32(w)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	t := &commitTable{names: make([]plumbing.Hash, 0, n), entries: make([]*commitAuthors, 0, n)}
	for ref, a := range at {
		if a != 0 {
			t.names = append(t.names, pk.Name(gitpack.Ref(ref)))
			t.entries = append(t.entries, lists[a&7][a>>3-1])
		}
	}
	if pk.Packs() > 1 {
		// Each pack's names are sorted; all of them together are not.
		sort.Sort(byName{t})
	}
	t.fanout = make([]int32, 1<<16+1)
	for _, h := range t.names {
		t.fanout[int(h[0])<<8|int(h[1])+1]++
	}
	for i := 1; i < len(t.fanout); i++ {
		t.fanout[i] += t.fanout[i-1]
	}
	return t, nil
}

type byName struct{ t *commitTable }

func (b byName) Len() int           { return len(b.t.names) }
func (b byName) Less(i, j int) bool { return bytes.Compare(b.t.names[i][:], b.t.names[j][:]) < 0 }
func (b byName) Swap(i, j int) {
	b.t.names[i], b.t.names[j] = b.t.names[j], b.t.names[i]
	b.t.entries[i], b.t.entries[j] = b.t.entries[j], b.t.entries[i]
}

// commitParser reads a commit object's parents, author and co-authors as
// go-git's decoder reads them (object.Commit.Decode): the parents are the
// "parent" lines right after "tree", the author is an "author" line right
// after them (its address between the last "<" and the last ">"), and the
// message is everything after the first empty line. One parser per
// goroutine.
type commitParser struct {
	emails    map[string]string // address as written -> lowercased
	coAuthors func(message []byte) []string
	// Slabs the results are cut from, to allocate once per many commits.
	commits []commitAuthors
	hashes  []plumbing.Hash
	strs    []string
}

const slab = 4096

func (p *commitParser) email(b []byte) string {
	if s, ok := p.emails[string(b)]; ok {
		return s
	}
	s := strings.ToLower(string(b))
	p.emails[string(b)] = s
	return s
}

func (p *commitParser) coAuthor(e string) string {
	if s, ok := p.emails[e]; ok {
		return s
	}
	s := strings.ToLower(e)
	p.emails[e] = s
	return s
}

// parse returns nil for a commit go-git would not decode.
func (p *commitParser) parse(data []byte) *commitAuthors {
	line, rest := cutLine(data)
	key, val := splitHeader(line)
	if string(key) != "tree" || !isHash(val) {
		return nil
	}
	if len(p.commits) == cap(p.commits) {
		p.commits = make([]commitAuthors, 0, slab)
	}
	p.commits = p.commits[:len(p.commits)+1]
	c := &p.commits[len(p.commits)-1]
	*c = commitAuthors{}
	// Parent lines, until the first other line.
	if len(p.hashes) == cap(p.hashes) {
		p.hashes = make([]plumbing.Hash, 0, slab)
	}
	first := len(p.hashes)
	var msg []byte
	headersEnd := false
	for {
		line, after := cutLine(rest)
		if len(line) == 0 {
			headersEnd = true // no message
			break
		}
		if line[0] == '\n' {
			msg, headersEnd = after, true
			break
		}
		key, val := splitHeader(line)
		if string(key) != "parent" {
			break
		}
		var h plumbing.Hash
		if len(val) != 40 {
			p.commits = p.commits[:len(p.commits)-1]
			return nil
		}
		if _, err := hex.Decode(h[:], val); err != nil {
			p.commits = p.commits[:len(p.commits)-1]
			return nil
		}
		if len(p.hashes) == cap(p.hashes) {
			// Out of slab: move this commit's parents to a new one.
			old := p.hashes[first:]
			p.hashes = append(make([]plumbing.Hash, 0, slab), old...)
			first = 0
		}
		p.hashes = append(p.hashes, h)
		rest = after
	}
	c.parents = p.hashes[first:len(p.hashes):len(p.hashes)]
	email := ""
	if !headersEnd {
		// The author line, if it comes next; then the other headers.
		line, after := cutLine(rest)
		if key, val := splitHeader(line); string(key) == "author" {
			open, close := bytes.LastIndexByte(val, '<'), bytes.LastIndexByte(val, '>')
			if open >= 0 && close > open {
				email = p.email(val[open+1 : close])
			}
			rest = after
		}
		switch {
		case len(rest) > 0 && rest[0] == '\n':
			msg = rest[1:]
		default:
			if i := bytes.Index(rest, []byte("\n\n")); i >= 0 {
				msg = rest[i+2:]
			}
		}
	}
	if len(p.strs)+1 > cap(p.strs) {
		p.strs = make([]string, 0, slab)
	}
	firstStr := len(p.strs)
	p.strs = append(p.strs, email)
	if p.coAuthors != nil {
		for _, e := range p.coAuthors(msg) {
			if len(p.strs) == cap(p.strs) {
				old := p.strs[firstStr:]
				p.strs = append(make([]string, 0, slab), old...)
				firstStr = 0
			}
			p.strs = append(p.strs, p.coAuthor(e))
		}
	}
	c.authors = p.strs[firstStr:len(p.strs):len(p.strs)]
	return c
}

// cutLine returns the first line of b with its newline, and the rest.
func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1], b[i+1:]
	}
	return b, nil
}

// splitHeader splits a header line into its key and value, as go-git does.
func splitHeader(line []byte) (key, val []byte) {
	line = bytes.TrimRight(line, "\n")
	key, val, _ = bytes.Cut(line, []byte{' '})
	return key, val
}

func isHash(b []byte) bool {
	var h plumbing.Hash
	if len(b) != 40 {
		return false
	}
	_, err := hex.Decode(h[:], b)
	return err == nil
}
