package githubapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/releasenotes"
	"github.com/warden-sec/warden/core/releasenotes/gitfixture"
	"github.com/warden-sec/warden/core/releasenotes/githubapi"
	"github.com/warden-sec/warden/core/releasenotes/githubapi/githubtest"
	"github.com/warden-sec/warden/core/releasenotes/history"
	"github.com/warden-sec/warden/core/releasenotes/internal/golden"
	"github.com/warden-sec/warden/templates"
)

func notes(t *testing.T, dir string) *releasenotes.Notes {
	t.Helper()
	repo, err := history.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rg, err := repo.Range(context.Background(), history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := releasenotes.Build(rg, releasenotes.Options{})
	if err := releasenotes.MarkFirstTime(context.Background(), repo, n, nil); err != nil {
		t.Fatal(err)
	}
	return n
}

func releaseRepo(t *testing.T) string {
	t.Helper()
	script, err := os.ReadFile("../testdata/release.script")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := gitfixture.Build(dir, string(script)); err != nil {
		t.Fatal(err)
	}
	return dir
}

var day = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

func serverData() githubtest.Data {
	d := githubtest.Data{Owner: "acme", Repo: "app",
		Logins: map[string]string{"alice@example.com": "alice", "bob@example.com": "bobby"},
		Pulls: []githubtest.PR{
			{Number: 12, Title: "Search endpoint", Login: "alice", Labels: []string{"enhancement", "api"}, Merged: true, Updated: day.Add(3 * time.Hour)},
			{Number: 21, Title: "Auth fixes and dark mode", Login: "carol-gh", Labels: []string{"bug", "Breaking-Change"}, Merged: true, Updated: day.Add(2 * time.Hour)},
			{Number: 30, Title: "Rate-limit logins", Login: "alice", Labels: []string{"security"}, Merged: true, Updated: day.Add(time.Hour)},
		}}
	// Unrelated pull requests, some more recent than the release's.
	for i := 0; i < 20; i++ {
		d.Pulls = append(d.Pulls, githubtest.PR{Number: 100 + i, Title: fmt.Sprintf("other %d", i), Login: "x", Updated: day.Add(-time.Duration(i) * time.Hour)})
	}
	return d
}

func start(t *testing.T, dir string, d githubtest.Data) *githubtest.Server {
	t.Helper()
	srv, err := githubtest.Start(dir, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func client(t *testing.T, srv *githubtest.Server, token, cache string) *githubapi.Client {
	t.Helper()
	c, err := githubapi.New(githubapi.Options{Repo: "acme/app", Token: token, BaseURL: srv.URL, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnrichFewCallsThenCache(t *testing.T) {
	dir := releaseRepo(t)
	srv := start(t, dir, serverData())
	cache := t.TempDir()
	n := notes(t, dir)
	c := client(t, srv, "", cache)
	if err := c.Enrich(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	// One compare call for every login, one listing for three pull requests.
	reqs := srv.Requests()
	if c.Calls != 2 || len(reqs) != 2 || !strings.HasSuffix(reqs[0].Path, "/compare/"+n.From+"..."+n.To) ||
		reqs[1].Path != "/repos/acme/app/pulls" || !strings.Contains(reqs[1].Query, "state=closed") {
		t.Fatalf("calls %d: %+v", c.Calls, reqs)
	}
	logins := map[string]string{}
	for _, ct := range n.Contributors {
		logins[ct.Name] = ct.Login
	}
	// Bob's login comes from the compare answer, Carol's from her PR.
	if logins["Alice Maintainer"] != "alice" || logins["Bob Contributor"] != "bobby" || logins["Carol First"] != "carol-gh" || logins["Dana Docs"] != "" {
		t.Fatalf("logins %v", logins)
	}
	var search *releasenotes.Entry
	for _, e := range n.Entries() {
		if e.PR == 12 {
			search = e
		}
	}
	if search == nil || search.PRTitle != "Search endpoint" || strings.Join(search.Labels, ",") != "enhancement,api" {
		t.Fatalf("entry %+v", search)
	}
	// A PR labelled as breaking joins the breaking changes, its title as the note.
	var labelled *releasenotes.Entry
	for _, e := range n.Breaking {
		if e.PR == 21 {
			labelled = e
		}
	}
	if labelled == nil || labelled.BreakingNote != "Auth fixes and dark mode" {
		t.Fatalf("breaking: %+v", n.Breaking)
	}
	md, err := templates.ReleaseNotes(nil, "", n, n.Repository)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "github.md", md)

	// A second run answers from the cache: no request at all.
	n2 := notes(t, dir)
	c2 := client(t, srv, "", cache)
	if err := c2.Enrich(context.Background(), n2); err != nil {
		t.Fatal(err)
	}
	if c2.Calls != 0 {
		t.Fatalf("second run made %d calls", c2.Calls)
	}
	md2, _ := templates.ReleaseNotes(nil, "", n2, n2.Repository)
	if !bytes.Equal(md, md2) {
		t.Fatalf("cached notes differ:\n%s\n---\n%s", md, md2)
	}
	// Cache files are private and complete (written atomically).
	entries, _ := filepath.Glob(filepath.Join(cache, "acme", "app", "*"))
	if len(entries) != 4 {
		t.Fatalf("cache: %v", entries)
	}
	for _, e := range entries {
		fi, _ := os.Stat(e)
		if fi.Mode().Perm() != 0o600 || strings.Contains(filepath.Base(e), ".tmp-") {
			t.Fatalf("%s: %v", e, fi.Mode())
		}
	}
}

// Large releases page through compare (100 commits a call) and the
// pull-request listing; a PR the listing misses is fetched by number.
func TestEnrichPages(t *testing.T) {
	var b strings.Builder
	b.WriteString("author Alice <alice@example.com>\ncommit feat: start\ntag v1.0.0\n")
	for i := 1; i <= 150; i++ {
		fmt.Fprintf(&b, "commit fix: change %d (#%d)\n", i, i)
	}
	dir := t.TempDir()
	if _, err := gitfixture.Build(dir, b.String()); err != nil {
		t.Fatal(err)
	}
	d := githubtest.Data{Owner: "acme", Repo: "app", Logins: map[string]string{"alice@example.com": "alice"}}
	for i := 1; i <= 149; i++ {
		d.Pulls = append(d.Pulls, githubtest.PR{Number: i, Title: fmt.Sprintf("Change %d", i), Login: "alice", Merged: true, Updated: day.Add(time.Duration(i) * time.Minute)})
	}
	// #150 was updated long ago (say, re-opened and closed): the listing
	// would reach it only on a fourth page, so it is fetched by number.
	d.Pulls = append(d.Pulls, githubtest.PR{Number: 150, Title: "Change 150", Login: "alice", Merged: true, Updated: day.Add(-48 * time.Hour)})
	for i := 0; i < 200; i++ {
		d.Pulls = append(d.Pulls, githubtest.PR{Number: 1000 + i, Title: "unrelated", Login: "x", Updated: day.Add(-time.Hour)})
	}
	srv := start(t, dir, d)
	n := notes(t, dir)
	c := client(t, srv, "tok", "")
	if err := c.Enrich(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, r.Method+" "+r.Path+"?"+r.Query)
		if !r.Auth {
			t.Errorf("%s %s sent without the token", r.Method, r.Path)
		}
	}
	want := []string{
		"GET /repos/acme/app/compare/" + n.From + "..." + n.To + "?per_page=100",
		"GET /repos/acme/app/compare/" + n.From + "..." + n.To + "?page=2&per_page=100",
		"GET /repos/acme/app/pulls?direction=desc&per_page=100&sort=updated&state=closed",
		"GET /repos/acme/app/pulls?direction=desc&page=2&per_page=100&sort=updated&state=closed",
		"GET /repos/acme/app/pulls?direction=desc&page=3&per_page=100&sort=updated&state=closed",
		"GET /repos/acme/app/pulls/150?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range n.Entries() {
		if e.PRTitle != fmt.Sprintf("Change %d", e.PR) || e.Author.Login != "alice" {
			t.Fatalf("entry %+v", e)
		}
	}
}

func TestRateLimit(t *testing.T) {
	dir := releaseRepo(t)
	d := serverData()
	d.RateLimit = 1
	srv := start(t, dir, d)
	n := notes(t, dir)
	err := client(t, srv, "", "").Enrich(context.Background(), n)
	var rl *githubapi.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("got %v", err)
	}
	if rl.Limit != 1 || rl.Reset.Before(time.Now()) || rl.Reset.After(time.Now().Add(2*time.Hour)) || rl.Token {
		t.Fatalf("%+v", rl)
	}
	if !strings.Contains(rl.Error(), "rate limit of 1 requests exceeded; it resets at ") || !strings.Contains(rl.Hint(), "GITHUB_TOKEN") {
		t.Fatalf("%v / %s", rl, rl.Hint())
	}
}

// GitHub's own 403 answer (the quota spent by earlier clients).
func TestRateLimit403(t *testing.T) {
	dir := releaseRepo(t)
	d := serverData()
	d.RateLimit, d.Used = 60, 60
	srv := start(t, dir, d)
	err := client(t, srv, "tok", "").Enrich(context.Background(), notes(t, dir))
	var rl *githubapi.RateLimitError
	if !errors.As(err, &rl) || rl.Limit != 60 || rl.Remaining != 0 || !rl.Token || strings.Contains(rl.Hint(), "set GITHUB_TOKEN") {
		t.Fatalf("got %v (%+v)", err, rl)
	}
	if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].Status != 403 {
		t.Fatalf("%+v", reqs)
	}
}

func TestBadToken(t *testing.T) {
	dir := releaseRepo(t)
	d := serverData()
	d.Token = "right-token"
	srv := start(t, dir, d)
	err := client(t, srv, "wrong-token", "").Enrich(context.Background(), notes(t, dir))
	var ae *githubapi.AuthError
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(err.Error(), "Bad credentials") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Fatal("the token is in the error")
	}
}

func TestPublishCreatesThenUpdates(t *testing.T) {
	dir := releaseRepo(t)
	d := serverData()
	d.Token = "tok"
	srv := start(t, dir, d)
	c := client(t, srv, "tok", "")
	rel, err := c.Publish(context.Background(), "v1.1.0", "v1.1.0", "first body", false)
	if err != nil {
		t.Fatal(err)
	}
	if !rel.Created || rel.URL != "https://github.com/acme/app/releases/tag/v1.1.0" {
		t.Fatalf("%+v", rel)
	}
	rel2, err := c.Publish(context.Background(), "v1.1.0", "v1.1.0", "second body", false)
	if err != nil {
		t.Fatal(err)
	}
	if rel2.Created || rel2.ID != rel.ID {
		t.Fatalf("%+v after %+v", rel2, rel)
	}
	rels := srv.Releases()
	if len(rels) != 1 || rels[0].Body != "second body" || rels[0].TagName != "v1.1.0" {
		t.Fatalf("%+v", rels)
	}
	var methods []string
	for _, r := range srv.Requests() {
		methods = append(methods, r.Method+" "+r.Path)
	}
	want := "GET /repos/acme/app/releases/tags/v1.1.0,POST /repos/acme/app/releases,GET /repos/acme/app/releases/tags/v1.1.0,PATCH /repos/acme/app/releases/" + fmt.Sprint(rel.ID)
	if strings.Join(methods, ",") != want {
		t.Fatalf("%s", strings.Join(methods, ","))
	}
	if body := srv.Requests()[1].Body; !strings.Contains(body, `"tag_name":"v1.1.0"`) || !strings.Contains(body, `"prerelease":false`) {
		t.Fatalf("create body %s", body)
	}
	// A pre-release is published as one.
	if _, err := c.Publish(context.Background(), "v1.2.0-rc.1", "v1.2.0-rc.1", "rc", true); err != nil {
		t.Fatal(err)
	}
	if rels := srv.Releases(); !rels[1].Prerelease {
		t.Fatalf("%+v", rels[1])
	}
}

func TestRepoName(t *testing.T) {
	for _, r := range []string{"", "acme", "acme/", "/app", "a/b/c", "../x", "a b/c"} {
		if _, err := githubapi.New(githubapi.Options{Repo: r}); !errors.Is(err, githubapi.ErrRepoName) {
			t.Errorf("%q: %v", r, err)
		}
	}
}
