// Package history reads the commits of one release from a git repository
// with go-git (no git binary; the pack files' objects are read through
// gitpack, and the earlier history's authors are gathered from a parallel
// scan of the packs): it resolves the target, finds the previous
// release tag, walks the range in one pass (stopping where the previous
// release's history begins), tells a shallow clone that does not reach far
// enough from a real first release, and marks the commits that touch a
// directory while it walks.
package history

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/warden-sec/warden/core/releasenotes/gitpack"
	"github.com/warden-sec/warden/core/releasenotes/semver"
)

// ErrNotRepository is returned when the path is not inside a git repository.
var ErrNotRepository = errors.New("not a git repository")

// RefError names a revision that does not resolve.
type RefError struct {
	Flag string
	Ref  string
	Err  error
}

func (e *RefError) Error() string {
	return fmt.Sprintf("%s %q: no such commit, branch or tag", e.Flag, e.Ref)
}
func (e *RefError) Unwrap() error { return e.Err }

// ShallowError reports a history cut off before the previous release: the
// notes would be silently short, so there are none.
type ShallowError struct {
	// Boundary is the oldest commit the clone has on the walked path.
	Boundary string
	// Searching is true when no previous release tag was found before the
	// boundary (it may exist beyond it); false when the tag was found but
	// the range between it and the target crosses the boundary.
	Searching bool
}

func (e *ShallowError) Error() string {
	if e.Searching {
		return fmt.Sprintf("shallow clone: the history ends at %s before any previous release tag, so the notes cannot be bounded", short(e.Boundary))
	}
	return fmt.Sprintf("shallow clone: the history ends at %s before the previous release tag", short(e.Boundary))
}

// Hint tells how to get a complete history.
func (e *ShallowError) Hint() string {
	return "fetch the full history and tags (`git fetch --unshallow --tags`, or `fetch-depth: 0` in actions/checkout)"
}

// Signature is an author or committer.
type Signature struct {
	Name  string    `json:"name"`
	Email string    `json:"email"`
	When  time.Time `json:"date"`
}

// Commit is one commit of the range.
type Commit struct {
	Hash      string    `json:"hash"`
	Parents   []string  `json:"parents"`
	Author    Signature `json:"author"`
	Committer Signature `json:"committer"`
	Message   string    `json:"message"`
	// Touches is false when a --path filter is set and the commit does not
	// change anything under it.
	Touches bool `json:"-"`
}

// Tag is a release tag.
type Tag struct {
	Name    string         `json:"name"`
	Commit  string         `json:"commit"`
	Version semver.Version `json:"-"`
}

// Options select the range.
type Options struct {
	To   string // revision of the release (default HEAD)
	From string // explicit start (exclusive); empty: the previous release tag
	All  bool   // the whole history up to To
	// Tag names the release being made when To carries no release tag yet.
	Tag     string
	Pattern *semver.Pattern
	// Path keeps only commits that change something under this directory.
	Path string
}

// Range is what one release contains.
type Range struct {
	To    string `json:"to"`
	ToTag string `json:"toTag,omitempty"`
	// Version is the version of ToTag (empty when unreleased).
	Version string `json:"version,omitempty"`
	From    string `json:"from,omitempty"`
	FromTag string `json:"fromTag,omitempty"`
	// FirstRelease is set when no previous release tag exists: the range
	// runs from the root commit.
	FirstRelease bool `json:"firstRelease"`
	// Commits are newest first (by committer date, parents after children).
	Commits []Commit `json:"-"`
	// Date is the committer date of To.
	Date time.Time `json:"date"`
}

// Repo is an opened repository.
type Repo struct {
	r       *git.Repository
	closer  interface{ Close() error }
	shallow map[plumbing.Hash]bool
	tags    map[plumbing.Hash][]Tag // by commit, built on first use
	tagPat  *semver.Pattern
	commits map[plumbing.Hash]*object.Commit
	packs   *gitpack.Store // nil when go-git reads the packs itself
}

// Open opens the repository containing dir.
func Open(dir string) (*Repo, error) {
	found, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return nil, fmt.Errorf("%s: %w", dir, ErrNotRepository)
		}
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	// Reopen the same .git with the pack files kept open: by default
	// go-git opens and closes the pack (and stats its path) for every
	// object, which is most of the time of a long walk. The packs' objects
	// are read through gitpack (packStorer).
	r := found
	var closer interface{ Close() error }
	var packs *gitpack.Store
	if fsStore, ok := found.Storer.(*filesystem.Storage); ok {
		st := filesystem.NewStorageWithOptions(fsStore.Filesystem(), cache.NewObjectLRUDefault(),
			filesystem.Options{KeepDescriptors: true, ExclusiveAccess: true})
		var s storage.Storer = st
		closer = st
		if packs = openPacks(fsStore.Filesystem().Root()); packs != nil {
			ps := &packStorer{Storage: st, packs: packs}
			s, closer = ps, ps
		}
		if r, err = git.Open(s, nil); err != nil {
			closer.Close()
			return nil, fmt.Errorf("open repository %s: %w", dir, err)
		}
	}
	sh, err := r.Storer.Shallow()
	if err != nil {
		if closer != nil {
			closer.Close()
		}
		return nil, fmt.Errorf("read shallow boundary: %w", err)
	}
	repo := &Repo{r: r, closer: closer, packs: packs, shallow: map[plumbing.Hash]bool{}, commits: map[plumbing.Hash]*object.Commit{}}
	for _, h := range sh {
		repo.shallow[h] = true
	}
	return repo, nil
}

// Close releases the open pack files.
func (r *Repo) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// Shallow reports whether the repository is a shallow clone.
func (r *Repo) Shallow() bool { return len(r.shallow) > 0 }

func (r *Repo) commit(h plumbing.Hash) (*object.Commit, error) {
	if c, ok := r.commits[h]; ok {
		return c, nil
	}
	c, err := object.GetCommit(r.r.Storer, h)
	if err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) && r.Shallow() {
			return nil, &ShallowError{Boundary: h.String()}
		}
		return nil, fmt.Errorf("read commit %s: %w", short(h.String()), err)
	}
	r.commits[h] = c
	return c, nil
}

func (r *Repo) resolve(flag, rev string) (plumbing.Hash, error) {
	h, err := r.r.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return plumbing.ZeroHash, &RefError{Flag: flag, Ref: rev, Err: err}
	}
	// Peel to a commit (an annotated tag names a tag object).
	if _, err := r.commit(*h); err != nil {
		var se *ShallowError
		if errors.As(err, &se) {
			return plumbing.ZeroHash, err
		}
		return plumbing.ZeroHash, &RefError{Flag: flag, Ref: rev, Err: err}
	}
	return *h, nil
}

// Tags returns the release tags (those the pattern matches) by commit.
func (r *Repo) Tags(p *semver.Pattern) (map[plumbing.Hash][]Tag, error) {
	if r.tags != nil && r.tagPat == p {
		return r.tags, nil
	}
	iter, err := r.r.Tags()
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	out := map[plumbing.Hash][]Tag{}
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		name := ref.Name().Short()
		v, ok := p.Match(name)
		if !ok {
			return nil
		}
		h := ref.Hash()
		// Peel annotated tags (possibly tags of tags) to the commit.
		for i := 0; i < 8; i++ {
			t, err := r.r.TagObject(h)
			if err != nil {
				break
			}
			h = t.Target
		}
		out[h] = append(out[h], Tag{Name: name, Commit: h.String(), Version: v})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	for _, ts := range out {
		sort.Slice(ts, func(i, j int) bool { return semver.Compare(ts[i].Version, ts[j].Version) > 0 })
	}
	r.tags, r.tagPat = out, p
	return out, nil
}

// Range resolves the release range and walks it.
func (r *Repo) Range(ctx context.Context, o Options) (*Range, error) {
	if o.Pattern == nil {
		p, err := semver.NewPattern("")
		if err != nil {
			return nil, err
		}
		o.Pattern = p
	}
	if o.To == "" {
		o.To = "HEAD"
	}
	to, err := r.resolve("--to", o.To)
	if err != nil {
		return nil, err
	}
	toCommit, _ := r.commit(to)
	rg := &Range{To: to.String(), Date: toCommit.Committer.When}
	tags, err := r.Tags(o.Pattern)
	if err != nil {
		return nil, err
	}
	// The release being made: --tag, else the highest release tag on To.
	var target *semver.Version
	if o.Tag != "" {
		v, ok := o.Pattern.Match(o.Tag)
		if !ok {
			return nil, fmt.Errorf("--tag %q: %w %s", o.Tag, ErrTagPattern, o.Pattern)
		}
		rg.ToTag, rg.Version, target = o.Tag, v.String(), &v
	} else if ts := tags[to]; len(ts) > 0 {
		rg.ToTag, rg.Version, target = ts[0].Name, ts[0].Version.String(), &ts[0].Version
	}
	var from plumbing.Hash
	switch {
	case o.All:
		rg.FirstRelease = true
	case o.From != "":
		if from, err = r.resolve("--from", o.From); err != nil {
			return nil, err
		}
		rg.From = from.String()
		if ts := tags[from]; len(ts) > 0 {
			rg.FromTag = ts[0].Name
		}
	default:
		prev, err := r.previous(ctx, to, target, tags)
		if err != nil {
			return nil, err
		}
		if prev == nil {
			rg.FirstRelease = true
		} else {
			from = plumbing.NewHash(prev.Commit)
			rg.From, rg.FromTag = prev.Commit, prev.Name
		}
	}
	if rg.Commits, err = r.walk(ctx, to, from); err != nil {
		return nil, err
	}
	if o.Path != "" {
		if err := r.markPath(rg.Commits, o.Path); err != nil {
			return nil, err
		}
	}
	return rg, nil
}

// ErrTagPattern is wrapped when --tag does not match the tag pattern.
var ErrTagPattern = errors.New("is not a release tag under the tag pattern")

// previous finds the nearest release tag reachable from to (excluding to
// itself) that precedes the target: older in version, and not a
// pre-release when the target is a final release.
func (r *Repo) previous(ctx context.Context, to plumbing.Hash, target *semver.Version, tags map[plumbing.Hash][]Tag) (*Tag, error) {
	var found *Tag
	err := r.dateWalk(ctx, []plumbing.Hash{to}, func(h plumbing.Hash, c *object.Commit) (bool, error) {
		if h == to {
			return true, nil
		}
		for _, t := range tags[h] {
			if target != nil {
				if !target.Prerelease() && t.Version.Prerelease() {
					continue
				}
				if semver.Compare(t.Version, *target) >= 0 {
					continue
				}
			}
			found = &t
			return false, nil
		}
		return true, nil
	})
	var se *ShallowError
	if errors.As(err, &se) {
		se.Searching = true
	}
	return found, err
}

type step int

const (
	next  step = iota // go on to the parents
	stop              // end the walk
	prune             // skip this commit's parents
)

// dateWalk visits the ancestors of starts newest first by committer date
// until visit returns false. A commit at the shallow boundary is an error:
// what lies beyond it is unknown.
func (r *Repo) dateWalk(ctx context.Context, starts []plumbing.Hash, visit func(plumbing.Hash, *object.Commit) (bool, error)) error {
	return r.walkFrom(ctx, starts, func(h plumbing.Hash, c *object.Commit) (step, error) {
		more, err := visit(h, c)
		if !more {
			return stop, err
		}
		return next, err
	})
}

func (r *Repo) walkFrom(ctx context.Context, starts []plumbing.Hash, visit func(plumbing.Hash, *object.Commit) (step, error)) error {
	q := &queue{}
	seen := map[plumbing.Hash]bool{}
	for _, s := range starts {
		c, err := r.commit(s)
		if err != nil {
			return err
		}
		seen[s] = true
		q.push(s, c, 0)
	}
	for n := 0; q.Len() > 0; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		it := heap.Pop(q).(item)
		st, err := visit(it.h, it.c)
		if err != nil || st == stop {
			return err
		}
		if st == prune {
			continue
		}
		if r.shallow[it.h] {
			return &ShallowError{Boundary: it.h.String()}
		}
		for _, p := range it.c.ParentHashes {
			if seen[p] {
				continue
			}
			seen[p] = true
			pc, err := r.commit(p)
			if err != nil {
				return err
			}
			q.push(p, pc, 0)
		}
	}
	return nil
}

const (
	flagSeen uint8 = 1 << iota
	flagUninteresting
	flagQueued
)

// walk returns the commits reachable from to and not from from (all
// ancestors when from is zero), newest first. Like git's revision walk it
// paints both sides in one date-ordered queue and stops once only the
// "from" side is left, so a release costs the size of the release, not of
// the history.
func (r *Repo) walk(ctx context.Context, to, from plumbing.Hash) ([]Commit, error) {
	w := &painter{flags: map[plumbing.Hash]uint8{}, commits: r.commits}
	q := &queue{}
	add := func(h plumbing.Hash, f uint8) error {
		old := w.flags[h]
		if old&flagSeen != 0 {
			if f&flagUninteresting != 0 && old&flagUninteresting == 0 {
				w.paint(h)
			}
			return nil
		}
		c, err := r.commit(h)
		if err != nil {
			return err
		}
		w.flags[h] = f | flagSeen | flagQueued
		q.push(h, c, f)
		if f&flagUninteresting == 0 {
			w.interesting++
		}
		return nil
	}
	if !from.IsZero() {
		if err := add(from, flagUninteresting); err != nil {
			return nil, err
		}
	}
	if err := add(to, 0); err != nil {
		return nil, err
	}
	var picked []plumbing.Hash
	slop := 5 // extra commits once only the other side is left, for clock skew (as git)
	for n := 0; q.Len() > 0; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if w.interesting == 0 {
			if slop == 0 {
				break
			}
			slop--
		}
		it := heap.Pop(q).(item)
		f := w.flags[it.h] &^ flagQueued
		w.flags[it.h] = f
		unint := f&flagUninteresting != 0
		if !unint {
			w.interesting--
			picked = append(picked, it.h)
			if r.shallow[it.h] && len(it.c.ParentHashes) > 0 {
				return nil, &ShallowError{Boundary: it.h.String()}
			}
		}
		if r.shallow[it.h] {
			continue
		}
		pf := uint8(0)
		if unint {
			pf = flagUninteresting
		}
		for _, p := range it.c.ParentHashes {
			if err := add(p, pf); err != nil {
				return nil, err
			}
		}
	}
	out := make([]Commit, 0, len(picked))
	for _, h := range picked {
		if w.flags[h]&flagUninteresting != 0 {
			continue // reached from the other side after all
		}
		out = append(out, toCommit(h, r.commits[h]))
	}
	return out, nil
}

// painter holds the walk's marks.
type painter struct {
	flags       map[plumbing.Hash]uint8
	commits     map[plumbing.Hash]*object.Commit
	interesting int // queued commits not (yet) known to be reachable from the other side
}

// paint marks h and its already-seen ancestors as reachable from the
// other side.
func (w *painter) paint(h plumbing.Hash) {
	stack := []plumbing.Hash{h}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		f := w.flags[h]
		if f&flagSeen == 0 || f&flagUninteresting != 0 {
			continue
		}
		w.flags[h] = f | flagUninteresting
		if f&flagQueued != 0 {
			w.interesting--
		}
		if c, ok := w.commits[h]; ok {
			stack = append(stack, c.ParentHashes...)
		}
	}
}

func toCommit(h plumbing.Hash, c *object.Commit) Commit {
	parents := make([]string, len(c.ParentHashes))
	for i, p := range c.ParentHashes {
		parents[i] = p.String()
	}
	return Commit{
		Hash:      h.String(),
		Parents:   parents,
		Author:    Signature{Name: c.Author.Name, Email: c.Author.Email, When: c.Author.When},
		Committer: Signature{Name: c.Committer.Name, Email: c.Committer.Email, When: c.Committer.When},
		Message:   c.Message,
		Touches:   true,
	}
}

// markPath clears Touches on commits that change nothing under dir: a
// commit touches dir when dir's tree differs from that of every parent
// (a merge that takes dir unchanged from one side does not), the rule of
// `git log -- dir`. Only the trees on dir's path are read, once per commit.
func (r *Repo) markPath(commits []Commit, dir string) error {
	dir = strings.Trim(path.Clean(strings.ReplaceAll(dir, "\\", "/")), "/")
	if dir == "." || dir == "" {
		return nil
	}
	cache := map[plumbing.Hash]plumbing.Hash{}
	dirHash := func(h plumbing.Hash) (plumbing.Hash, error) {
		if d, ok := cache[h]; ok {
			return d, nil
		}
		c, err := r.commit(h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		t, err := object.GetTree(r.r.Storer, c.TreeHash)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("read tree of %s: %w", short(h.String()), err)
		}
		d := plumbing.ZeroHash
		if e, err := t.FindEntry(dir); err == nil {
			d = e.Hash
		} else if !errors.Is(err, object.ErrEntryNotFound) && !errors.Is(err, object.ErrDirectoryNotFound) {
			return plumbing.ZeroHash, fmt.Errorf("read tree of %s: %w", short(h.String()), err)
		}
		cache[h] = d
		return d, nil
	}
	for i := range commits {
		h := plumbing.NewHash(commits[i].Hash)
		mine, err := dirHash(h)
		if err != nil {
			return err
		}
		touches := len(commits[i].Parents) == 0 && !mine.IsZero()
		for j, p := range commits[i].Parents {
			ph, err := dirHash(plumbing.NewHash(p))
			if err != nil {
				return err
			}
			if j == 0 {
				touches = true
			}
			if ph == mine {
				touches = false
				break
			}
		}
		commits[i].Touches = touches
	}
	return nil
}

func short(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}

type item struct {
	h   plumbing.Hash
	c   *object.Commit
	f   uint8
	seq int
}

// queue orders commits newest first by committer date, then by insertion.
type queue struct {
	items []item
	seq   int
}

func (q *queue) push(h plumbing.Hash, c *object.Commit, f uint8) {
	q.seq++
	heap.Push(q, item{h: h, c: c, f: f, seq: q.seq})
}
func (q *queue) Len() int { return len(q.items) }
func (q *queue) Less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	if !a.c.Committer.When.Equal(b.c.Committer.When) {
		return a.c.Committer.When.After(b.c.Committer.When)
	}
	return a.seq < b.seq
}
func (q *queue) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *queue) Push(x any)    { q.items = append(q.items, x.(item)) }
func (q *queue) Pop() any {
	it := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return it
}
