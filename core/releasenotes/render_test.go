package releasenotes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/warden-sec/warden/core/releasenotes"
	"github.com/warden-sec/warden/core/releasenotes/authorcache"
	"github.com/warden-sec/warden/core/releasenotes/gitfixture"
	"github.com/warden-sec/warden/core/releasenotes/history"
	"github.com/warden-sec/warden/core/releasenotes/internal/golden"
	"github.com/warden-sec/warden/core/releasenotes/semver"
	"github.com/warden-sec/warden/templates"
)

// build makes a repository from testdata/NAME.script.
func build(t *testing.T, name string) (string, map[string]string) {
	t.Helper()
	script, err := os.ReadFile(filepath.Join("testdata", name+".script"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	marks, err := gitfixture.Build(dir, string(script))
	if err != nil {
		t.Fatal(err)
	}
	return dir, marks
}

func generate(t *testing.T, dir string, ho history.Options, o releasenotes.Options) *releasenotes.Notes {
	t.Helper()
	repo, err := history.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rg, err := repo.Range(context.Background(), ho)
	if err != nil {
		t.Fatal(err)
	}
	n := releasenotes.Build(rg, o)
	if err := releasenotes.MarkFirstTime(context.Background(), repo, n, nil); err != nil {
		t.Fatal(err)
	}
	return n
}

func render(t *testing.T, n *releasenotes.Notes) []byte {
	t.Helper()
	md, err := templates.ReleaseNotes(nil, "", n, n.Repository)
	if err != nil {
		t.Fatal(err)
	}
	return md
}

func TestGoldenRelease(t *testing.T) {
	dir, _ := build(t, "release")
	n := generate(t, dir, history.Options{}, releasenotes.Options{Config: releasenotes.DefaultConfig()})
	golden.Check(t, "release.md", render(t, n))
	js, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "release.json", append(js, '\n'))
}

func TestGoldenReleaseStrict(t *testing.T) {
	dir, _ := build(t, "release")
	n := generate(t, dir, history.Options{}, releasenotes.Options{Config: releasenotes.DefaultConfig(), Strict: true})
	if len(n.NonConventional) != 1 || n.NonConventional[0].Subject != "update the readme" {
		t.Fatalf("non-conventional: %+v", n.NonConventional)
	}
	for _, s := range n.Sections {
		if s.Title == "Other" {
			t.Fatalf("--strict kept the Other section: %+v", s.Entries)
		}
	}
}

// A pre-release target takes the nearest tag, pre-releases included.
func TestGoldenPrerelease(t *testing.T) {
	dir, _ := build(t, "release")
	n := generate(t, dir, history.Options{Tag: "v1.1.0-rc.2"}, releasenotes.Options{})
	if n.PreviousTag != "v1.1.0-rc.1" || n.Tag != "v1.1.0-rc.2" {
		t.Fatalf("previous %q, tag %q", n.PreviousTag, n.Tag)
	}
	golden.Check(t, "prerelease.md", render(t, n))
}

func TestGoldenFirstRelease(t *testing.T) {
	dir, _ := build(t, "release")
	n := generate(t, dir, history.Options{To: "v1.0.0"}, releasenotes.Options{})
	if !n.FirstRelease || n.PreviousTag != "" {
		t.Fatalf("first release %v, previous %q", n.FirstRelease, n.PreviousTag)
	}
	golden.Check(t, "first.md", render(t, n))
}

// Monorepo: tags of other components and commits outside --path are ignored.
func TestGoldenMonorepo(t *testing.T) {
	dir, _ := build(t, "monorepo")
	pat, err := semver.NewPattern(`^api/v(.+)$`)
	if err != nil {
		t.Fatal(err)
	}
	n := generate(t, dir, history.Options{Pattern: pat, Path: "api"}, releasenotes.Options{Path: "api"})
	if n.PreviousTag != "api/v1.0.0" || n.Tag != "api/v1.1.0" {
		t.Fatalf("previous %q, tag %q", n.PreviousTag, n.Tag)
	}
	golden.Check(t, "monorepo.md", render(t, n))
}

// First-time contributors are found once by walking the earlier history;
// the result is cached by commit and used by the next run.
func TestFirstTimeCache(t *testing.T) {
	dir, _ := build(t, "release")
	cacheDir := t.TempDir()
	repo, err := history.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	rg, err := repo.Range(context.Background(), history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := func(cache releasenotes.AuthorCache) map[string]bool {
		n := releasenotes.Build(rg, releasenotes.Options{})
		if err := releasenotes.MarkFirstTime(context.Background(), repo, n, cache); err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, c := range n.Contributors {
			out[c.Email] = c.FirstTime
		}
		return out
	}
	got := first(authorcache.Open(cacheDir))
	if got["alice@example.com"] || !got["carol@example.com"] {
		t.Fatalf("%v", got)
	}
	file := filepath.Join(cacheDir, rg.From+".txt")
	data, err := os.ReadFile(file)
	if err != nil || string(data) != "alice@example.com\n" {
		t.Fatalf("cache %q, %v", data, err)
	}
	// The next run reads the cache instead of the history: an entry
	// naming Carol makes her known.
	if err := os.WriteFile(file, []byte("alice@example.com\ncarol@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := first(authorcache.Open(cacheDir)); got["carol@example.com"] || !got["bob@example.com"] {
		t.Fatalf("cache not used: %v", got)
	}
}

// First-time contributors come out the same from a packed repository,
// where the earlier history is read in one scan of the packs.
func TestFirstTimePacked(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("testdata", "release.script"))
	if err != nil {
		t.Fatal(err)
	}
	first := func(dir string) []releasenotes.Contributor {
		n := generate(t, dir, history.Options{}, releasenotes.Options{})
		return n.Contributors
	}
	loose, _ := build(t, "release")
	want := first(loose)
	for _, mode := range []string{"repack", "repack commit-deltas"} {
		dir := t.TempDir()
		if _, err := gitfixture.Build(dir, string(script)+mode+"\n"); err != nil {
			t.Fatal(err)
		}
		if got := first(dir); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, loose %+v", mode, got, want)
		}
	}
}

// A revert of a revert brings the change back; a revert of a change of
// this release takes both away.
func TestRevertChains(t *testing.T) {
	dir := t.TempDir()
	if _, err := gitfixture.Build(dir, `
commit feat: base
tag v1.0.0
commit -m a feat: keep me
commit -m ra Revert "feat: keep me"\n\nThis reverts commit ${a}.
commit -m rra Revert "Revert "feat: keep me""\n\nThis reverts commit ${ra}.
commit -m b feat: drop me
commit revert: drop me\n\nRefs: ${b}
`); err != nil {
		t.Fatal(err)
	}
	n := generate(t, dir, history.Options{}, releasenotes.Options{})
	var got []string
	for _, e := range n.Entries() {
		got = append(got, e.Type+": "+e.Description)
	}
	if len(got) != 1 || got[0] != "feat: keep me" || len(n.Reverted) != 1 {
		t.Fatalf("entries %q, reverted %v", got, n.Reverted)
	}
}

func TestCustomConfig(t *testing.T) {
	dir, _ := build(t, "release")
	cfg, err := releasenotes.ParseConfig("notes.yaml", []byte(`
groups:
  - title: New
    types: [feat]
  - title: Fixed
    types: [fix, perf]
skip: ['^docs']
other: ""
`))
	if err != nil {
		t.Fatal(err)
	}
	n := generate(t, dir, history.Options{}, releasenotes.Options{Config: cfg})
	var titles []string
	for _, s := range n.Sections {
		titles = append(titles, s.Title)
	}
	if len(titles) != 2 || titles[0] != "New" || titles[1] != "Fixed" {
		t.Fatalf("sections %v", titles)
	}
	for _, c := range n.Contributors {
		if c.Name == "Dana Docs" {
			t.Fatal("a skipped commit's co-author is listed")
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"grups: []", "field grups not found"},
		{"groups: [{title: X, types: []}]", "types is empty"},
		{"groups: [{title: A, types: [feat]}, {title: B, types: [FEAT]}]", `type "feat" is already in A`},
		{"skip: ['(']", "skip[0]"},
	} {
		_, err := releasenotes.ParseConfig("notes.yaml", []byte(tc.yaml))
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
