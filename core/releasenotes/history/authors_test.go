package history

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/warden-sec/warden/core/releasenotes/gitfixture"
)

// authorsScript has, besides the history of v1.0.0 (a merge, co-authors,
// addresses in capitals), commits that v1.0.0 does not reach: one after
// it, a branch never merged, and a branch deleted after the repack (its
// commit stays in the pack, reachable from nothing). REPACK is where the
// objects so far go into a pack.
const authorsScript = `
author Old Timer <old@example.com>
commit -m a a
author Lead Dev <lead@example.com>
commit -m b b\n\nCo-authored-by: Pat Pair <PAT@example.com>
branch topic
author Topic Writer <topic@example.com>
commit -m t1 t1
switch main
branch gone
author Gone Soon <gone@example.com>
commit -m g1 g1
switch main
author Main Dev <Main@Example.com>
commit -m c c
merge topic Merge topic
branch unmerged
author Side Line <unmerged@example.com>
commit -m u1 u1
switch main
REPACK
delete-branch gone
author Late Comer <late@example.com>
commit -m d d\n\nco-authored-by: Low Case <low@example.com>
tag v1.0.0
author After Tag <after@example.com>
commit -m e e
`

// The authors each start reaches.
var authorsWant = map[string][]string{
	"d":  {"old@example.com", "lead@example.com", "pat@example.com", "topic@example.com", "main@example.com", "late@example.com", "low@example.com"},
	"c":  {"old@example.com", "lead@example.com", "pat@example.com", "main@example.com"},
	"u1": {"old@example.com", "lead@example.com", "pat@example.com", "topic@example.com", "main@example.com", "unmerged@example.com"},
	"g1": {"old@example.com", "lead@example.com", "pat@example.com", "gone@example.com"},
	"a":  {"old@example.com"},
}

var testCoRe = regexp.MustCompile(`(?mi)^co-authored-by:.*<([^>]+)>\s*$`)

func testCoAuthors(msg []byte) []string {
	var out []string
	for _, m := range testCoRe.FindAllSubmatch(msg, -1) {
		out = append(out, string(m[1]))
	}
	return out
}

// Where the repack goes in authorsScript: nowhere (all loose), go-git's
// packs (deltas by offset or by name, commits whole), or a pack with the
// commits stored as deltas.
var repackModes = []string{"", "repack", "repack ref-deltas", "repack commit-deltas"}

func openScript(t *testing.T, script, mode string) (*Repo, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	marks, err := gitfixture.Build(dir, strings.Replace(script, "REPACK", mode, 1))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if (mode == "") != (r.packs == nil) {
		t.Fatalf("%q: packs %v", mode, r.packs)
	}
	return r, marks
}

func sorted(set map[string]bool) []string {
	return slices.Sorted(maps.Keys(set))
}

// The packs are read at once, one at a time, or the first ones one at a
// time and the rest at once: the same commits count as in the walk, and
// only those reachable from the start.
func TestAuthorsPackedMatchesWalk(t *testing.T) {
	ctx := context.Background()
	for _, mode := range repackModes {
		r, marks := openScript(t, authorsScript, mode)
		for start, want := range authorsWant {
			slices.Sort(want)
			walk, complete, err := r.authorsWalk(ctx, marks[start], testCoAuthors, nil, nil)
			if err != nil || !complete || !slices.Equal(sorted(walk), want) {
				t.Fatalf("%q from %s: walk %v (complete %v, %v), want %v", mode, start, sorted(walk), complete, err, want)
			}
			got, complete, err := r.Authors(ctx, marks[start], testCoAuthors, nil, nil)
			if err != nil || !complete || !slices.Equal(sorted(got), want) {
				t.Errorf("%q from %s: Authors %v (complete %v, %v), want %v", mode, start, sorted(got), complete, err, want)
			}
			if r.packs == nil {
				continue
			}
			for _, lazy := range []int{0, 2, 1 << 30} {
				got, complete, err := r.authorsPacked(ctx, plumbing.NewHash(marks[start]), testCoAuthors, nil, nil, lazy)
				if err != nil || !complete || !slices.Equal(sorted(got), want) {
					t.Errorf("%q from %s, scan after %d: %v (complete %v, %v), want %v", mode, start, lazy, sorted(got), complete, err, want)
				}
			}
		}
	}
}

// The negative case on its own: a scan reads every commit of the pack,
// including one after the tag, one on a branch never merged and one that
// nothing reaches; none of their authors may count.
func TestAuthorsPackedSkipsUnreachable(t *testing.T) {
	for _, mode := range repackModes[1:] {
		r, marks := openScript(t, authorsScript, mode)
		got, _, err := r.authorsPacked(context.Background(), plumbing.NewHash(marks["d"]), testCoAuthors, nil, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []string{"after@example.com", "unmerged@example.com", "gone@example.com"} {
			if got[a] {
				t.Errorf("%q: %s counted: %v", mode, a, sorted(got))
			}
		}
	}
}

// A cached set prunes the walk, and done ends it, in the packs as in the
// walk.
func TestAuthorsPackedKnownAndDone(t *testing.T) {
	ctx := context.Background()
	for _, mode := range repackModes[1:] {
		r, marks := openScript(t, authorsScript, mode)
		known := func(h string) (map[string]bool, bool) {
			if h == marks["c"] {
				return map[string]bool{"cached@example.com": true}, true
			}
			return nil, false
		}
		walk, _, err := r.authorsWalk(ctx, marks["d"], testCoAuthors, known, nil)
		if err != nil || !walk["cached@example.com"] || walk["main@example.com"] != true {
			t.Fatalf("walk %v, %v", sorted(walk), err)
		}
		for _, lazy := range []int{0, 1 << 30} {
			got, complete, err := r.authorsPacked(ctx, plumbing.NewHash(marks["d"]), testCoAuthors, known, nil, lazy)
			if err != nil || !complete || !slices.Equal(sorted(got), sorted(walk)) {
				t.Errorf("%q, scan after %d: %v (complete %v), walk %v", mode, lazy, sorted(got), complete, sorted(walk))
			}
		}
		done := func(set map[string]bool) bool { return set["lead@example.com"] }
		for _, lazy := range []int{0, 1 << 30} {
			got, complete, err := r.authorsPacked(ctx, plumbing.NewHash(marks["d"]), testCoAuthors, nil, done, lazy)
			if err != nil || complete || !got["lead@example.com"] {
				t.Errorf("%q, scan after %d, done: %v (complete %v, %v)", mode, lazy, sorted(got), complete, err)
			}
		}
	}
}

// A shallow clone keeps the walk's rule even when its packs hold commits
// beyond the boundary: the walk stops there, and the set is incomplete.
func TestAuthorsShallowPacked(t *testing.T) {
	r, marks := openScript(t, authorsScript+"shallow 2\n", "repack")
	if !r.Shallow() {
		t.Fatal("not shallow")
	}
	got, complete, err := r.Authors(context.Background(), marks["e"], testCoAuthors, nil, nil)
	if err != nil || complete || got["old@example.com"] || !got["after@example.com"] {
		t.Fatalf("%v (complete %v, %v)", sorted(got), complete, err)
	}
}
