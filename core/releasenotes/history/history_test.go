package history_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/warden-sec/warden/core/releasenotes/gitfixture"
	"github.com/warden-sec/warden/core/releasenotes/history"
	"github.com/warden-sec/warden/core/releasenotes/semver"
)

func repo(t *testing.T, script string) (*history.Repo, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	marks, err := gitfixture.Build(dir, script)
	if err != nil {
		t.Fatal(err)
	}
	r, err := history.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r, marks
}

// subjects returns the commits' subjects, newest first.
func subjects(rg *history.Range) string {
	var out []string
	for _, c := range rg.Commits {
		if c.Touches {
			out = append(out, strings.SplitN(c.Message, "\n", 2)[0])
		}
	}
	return strings.Join(out, ", ")
}

func rangeOf(t *testing.T, r *history.Repo, o history.Options) *history.Range {
	t.Helper()
	rg, err := r.Range(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rg
}

func TestPreviousTag(t *testing.T) {
	r, marks := repo(t, `
commit -m root a
tag v0.9.0
commit b
atag v1.0.0
commit c
tag v1.1.0-rc.1
commit d
tag not-a-release
commit -m e e
`)
	// Untagged HEAD: the nearest release tag, pre-release or not.
	rg := rangeOf(t, r, history.Options{})
	if rg.FromTag != "v1.1.0-rc.1" || subjects(rg) != "e, d" || rg.ToTag != "" || rg.To != marks["e"] {
		t.Fatalf("from %q: %s", rg.FromTag, subjects(rg))
	}
	// A final release skips the pre-releases.
	rg = rangeOf(t, r, history.Options{Tag: "v1.1.0"})
	if rg.FromTag != "v1.0.0" || subjects(rg) != "e, d, c" || rg.Version != "1.1.0" {
		t.Fatalf("from %q: %s", rg.FromTag, subjects(rg))
	}
	// A tagged target is not its own previous release (annotated tag peeled).
	rg = rangeOf(t, r, history.Options{To: "v1.0.0"})
	if rg.ToTag != "v1.0.0" || rg.FromTag != "v0.9.0" || subjects(rg) != "b" {
		t.Fatalf("to %q from %q: %s", rg.ToTag, rg.FromTag, subjects(rg))
	}
	// A tag newer than the target is not a previous release.
	rg = rangeOf(t, r, history.Options{Tag: "v1.0.1"})
	if rg.FromTag != "v1.0.0" {
		t.Fatalf("from %q", rg.FromTag)
	}
	// Explicit --from, and --all.
	rg = rangeOf(t, r, history.Options{From: "v0.9.0", To: "v1.0.0"})
	if subjects(rg) != "b" || rg.FromTag != "v0.9.0" {
		t.Fatalf("--from: %s", subjects(rg))
	}
	rg = rangeOf(t, r, history.Options{All: true})
	if subjects(rg) != "e, d, c, b, a" || !rg.FirstRelease {
		t.Fatalf("--all: %s", subjects(rg))
	}
	if _, err := r.Range(context.Background(), history.Options{Tag: "release-2"}); !errors.Is(err, history.ErrTagPattern) {
		t.Fatalf("--tag outside the pattern: %v", err)
	}
	var re *history.RefError
	if _, err := r.Range(context.Background(), history.Options{To: "nope"}); !errors.As(err, &re) || re.Flag != "--to" {
		t.Fatalf("unknown --to: %v", err)
	}
	if _, err := r.Range(context.Background(), history.Options{From: "v9.9.9"}); !errors.As(err, &re) || re.Flag != "--from" {
		t.Fatalf("unknown --from: %v", err)
	}
}

func TestNoTags(t *testing.T) {
	r, _ := repo(t, "commit a\ncommit b\ncommit c\n")
	rg := rangeOf(t, r, history.Options{})
	if !rg.FirstRelease || rg.From != "" || subjects(rg) != "c, b, a" {
		t.Fatalf("first %v: %s", rg.FirstRelease, subjects(rg))
	}
}

func TestPrefixedTags(t *testing.T) {
	r, _ := repo(t, `
commit a
tag api/v1.0.0
commit b
tag web/v3.0.0
tag v9.0.0
commit c
`)
	p, err := semver.NewPattern(`^api/v(.+)$`)
	if err != nil {
		t.Fatal(err)
	}
	rg := rangeOf(t, r, history.Options{Pattern: p})
	if rg.FromTag != "api/v1.0.0" || subjects(rg) != "c, b" {
		t.Fatalf("from %q: %s", rg.FromTag, subjects(rg))
	}
	// The default pattern ignores prefixed tags.
	rg = rangeOf(t, r, history.Options{})
	if rg.FromTag != "v9.0.0" {
		t.Fatalf("from %q", rg.FromTag)
	}
}

// A branch that forks before the previous tag and is merged after it
// belongs to the new release; what the tag already contains does not.
func TestMergedBranch(t *testing.T) {
	r, _ := repo(t, `
commit a
branch topic
commit t1
switch main
commit b
tag v1.0.0
switch topic
commit t2
switch main
commit c
merge topic Merge pull request #5 from x/topic
commit d
`)
	rg := rangeOf(t, r, history.Options{})
	got := subjects(rg)
	for _, want := range []string{"t1", "t2", "c", "d", "Merge pull request #5 from x/topic"} {
		if !strings.Contains(got, want) {
			t.Errorf("%s missing from %s", want, got)
		}
	}
	if strings.Contains(got, "b,") || strings.HasSuffix(got, "a") || len(rg.Commits) != 5 {
		t.Errorf("range leaks into v1.0.0: %s", got)
	}
}

func TestPath(t *testing.T) {
	r, _ := repo(t, `
commit -f api/a.go api one
tag v1.0.0
commit -f web/x.js web one
commit -f api/sub/b.go api two
branch topic
commit -f web/y.js web two
switch main
commit -f api/a.go api three
merge topic Merge web work
commit -f apix/z.go not api
`)
	rg := rangeOf(t, r, history.Options{Path: "api"})
	if got := subjects(rg); got != "api three, api two" {
		t.Fatalf("--path api: %s", got)
	}
	rg = rangeOf(t, r, history.Options{Path: "./web/"})
	if got := subjects(rg); got != "web two, web one" {
		t.Fatalf("--path web: %s", got)
	}
}

func TestShallowClone(t *testing.T) {
	script := `
commit a
tag v1.0.0
commit b
commit c
commit d
`
	// Depth 2: the tag is beyond the boundary. No silent short notes.
	dir := t.TempDir()
	if _, err := gitfixture.Build(dir, script+"shallow 2\n"); err != nil {
		t.Fatal(err)
	}
	r, err := history.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Shallow() {
		t.Fatal("not seen as shallow")
	}
	_, err = r.Range(context.Background(), history.Options{})
	var se *history.ShallowError
	if !errors.As(err, &se) || !se.Searching || !strings.Contains(se.Hint(), "fetch-depth: 0") {
		t.Fatalf("got %v", err)
	}
	// --all on a shallow clone cannot reach the root either.
	if _, err := r.Range(context.Background(), history.Options{All: true}); !errors.As(err, &se) {
		t.Fatalf("--all: %v", err)
	}
	// Deep enough to hold the tag: fine.
	dir = t.TempDir()
	if _, err := gitfixture.Build(dir, script+"shallow 4\n"); err != nil {
		t.Fatal(err)
	}
	if r, err = history.Open(dir); err != nil {
		t.Fatal(err)
	}
	rg := rangeOf(t, r, history.Options{})
	if rg.FromTag != "v1.0.0" || subjects(rg) != "d, c, b" {
		t.Fatalf("from %q: %s", rg.FromTag, subjects(rg))
	}
}

func TestNotARepository(t *testing.T) {
	if _, err := history.Open(t.TempDir()); !errors.Is(err, history.ErrNotRepository) {
		t.Fatalf("got %v", err)
	}
}

func TestAuthors(t *testing.T) {
	r, marks := repo(t, `
author Old Timer <old@example.com>
commit -m a a
author Co Author <co@example.com>
commit -m b b\n\nCo-authored-by: Pair <PAIR@example.com>
author New Person <new@example.com>
commit -m c c
`)
	co := func(msg []byte) []string {
		if strings.Contains(string(msg), "Pair") {
			return []string{"PAIR@example.com"}
		}
		return nil
	}
	set, complete, err := r.Authors(context.Background(), marks["b"], co, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !complete || len(set) != 3 || !set["old@example.com"] || !set["co@example.com"] || !set["pair@example.com"] {
		t.Fatalf("complete %v, set %v", complete, set)
	}
	// done ends the walk early; the set is then incomplete.
	set, complete, err = r.Authors(context.Background(), marks["c"], nil, nil, func(s map[string]bool) bool { return s["new@example.com"] })
	if err != nil || complete || len(set) != 1 {
		t.Fatalf("complete %v, set %v, %v", complete, set, err)
	}
	// A known set for a commit stands for its whole history.
	known := func(h string) (map[string]bool, bool) {
		if h == marks["b"] {
			return map[string]bool{"cached@example.com": true}, true
		}
		return nil, false
	}
	set, complete, err = r.Authors(context.Background(), marks["c"], nil, known, nil)
	if err != nil || !complete || len(set) != 2 || !set["cached@example.com"] || set["old@example.com"] {
		t.Fatalf("complete %v, set %v, %v", complete, set, err)
	}
}

// The packs are read through gitpack under go-git: a release reads the
// same from a packed repository as from loose objects, with a commit
// written after the repack loose beside the pack.
func TestRangePacked(t *testing.T) {
	const script = `
commit -f api/a.go api one
atag v1.0.0
branch topic
commit -f web/x.js web one\n\nCo-authored-by: Pat <pat@example.com>
switch main
commit -f api/sub/b.go api two
merge topic Merge pull request #5 from x/topic
atag v1.1.0
commit -f web/y.js web two
`
	const after = "commit -f api/c.go api three\n"
	loose, _ := repo(t, script+after)
	for _, mode := range []string{"repack", "repack ref-deltas", "repack commit-deltas"} {
		packed, _ := repo(t, script+mode+"\n"+after)
		for _, o := range []history.Options{{}, {All: true}, {Path: "api"}, {To: "v1.1.0"}, {From: "v1.0.0", To: "HEAD~1"}} {
			want, got := rangeOf(t, loose, o), rangeOf(t, packed, o)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %+v:\n got %+v\nwant %+v", mode, o, got, want)
			}
		}
	}
}
