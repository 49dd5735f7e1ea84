// Package githubapi enriches release notes from the GitHub REST API with
// go-github (pull-request titles and labels, authors' logins) and creates
// or updates the GitHub Release of a tag. It makes as few calls as it can:
// one compare call per 100 commits for every login, pull requests listed
// a hundred at a time rather than fetched one by one, and every answer that
// cannot change (a compare between two commits, a merged pull request)
// kept in an on-disk cache, so a second run makes no call at all.
package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/warden-sec/warden/core/atomicfile"
	"github.com/warden-sec/warden/core/releasenotes"
)

// ErrRepoName is wrapped when OWNER/REPO is malformed.
var ErrRepoName = errors.New("want OWNER/REPO")

// RateLimitError is GitHub refusing more requests until Reset.
type RateLimitError struct {
	Limit     int
	Remaining int
	Reset     time.Time
	Token     bool // whether the requests were authenticated
}

func (e *RateLimitError) Error() string {
	if e.Reset.IsZero() {
		return "github: rate limit exceeded"
	}
	return fmt.Sprintf("github: rate limit of %d requests exceeded; it resets at %s", e.Limit, e.Reset.UTC().Format(time.RFC3339))
}

// Hint tells what to do.
func (e *RateLimitError) Hint() string {
	h := "answers already received are cached: run again after the reset"
	if !e.Token {
		h += "\nset GITHUB_TOKEN: authenticated requests have a much higher limit"
	}
	return h
}

// AuthError is GitHub rejecting the token (401) or refusing access (403
// without a rate limit, 404 on a private repository).
type AuthError struct {
	Status int
	Msg    string
}

func (e *AuthError) Error() string { return fmt.Sprintf("github: %d: %s", e.Status, e.Msg) }

// Hint tells what to check.
func (e *AuthError) Hint() string {
	return "check that GITHUB_TOKEN is valid and may read the repository (and write releases with --publish)"
}

// Options configure a Client.
type Options struct {
	// Repo is OWNER/REPO.
	Repo  string
	Token string
	// BaseURL is the REST API root (GitHub Enterprise: https://HOST/api/v3/).
	BaseURL string
	// CacheDir keeps answers that cannot change; empty disables the cache.
	CacheDir   string
	HTTPClient *http.Client
}

// Client talks to one repository.
type Client struct {
	gh          *github.Client
	owner, repo string
	cache       string
	token       bool
	// Calls counts the requests sent (for tests and --verbose output).
	Calls int
}

var namePart = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// New checks the options and builds a client.
func New(o Options) (*Client, error) {
	owner, repo, ok := strings.Cut(o.Repo, "/")
	if !ok || !namePart.MatchString(owner) || !namePart.MatchString(repo) || owner == "." || owner == ".." || repo == "." || repo == ".." {
		return nil, fmt.Errorf("--github %q: %w", o.Repo, ErrRepoName)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c := &Client{owner: owner, repo: repo, token: o.Token != ""}
	// Count requests on the way out.
	hc2 := *hc
	base := hc2.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc2.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		c.Calls++
		return base.RoundTrip(r)
	})
	gh := github.NewClient(&hc2)
	if o.Token != "" {
		gh = gh.WithAuthToken(o.Token)
	}
	if o.BaseURL != "" {
		u, err := url.Parse(strings.TrimSuffix(o.BaseURL, "/") + "/")
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("github API URL %q: want an http(s) URL", o.BaseURL)
		}
		gh.BaseURL = u
	}
	c.gh = gh
	if o.CacheDir != "" {
		c.cache = filepath.Join(o.CacheDir, owner, repo)
	}
	return c, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// cachedCommit is what a compare answer tells about one commit.
type cachedCommit struct {
	SHA   string `json:"sha"`
	Login string `json:"login,omitempty"`
	Email string `json:"email,omitempty"`
}

// cachedPR is what the notes need of a pull request.
type cachedPR struct {
	Number int      `json:"number"`
	Title  string   `json:"title"`
	Login  string   `json:"login,omitempty"`
	Labels []string `json:"labels,omitempty"`
	Merged bool     `json:"merged"`
}

// Enrich adds logins, pull-request titles and labels to n.
func (c *Client) Enrich(ctx context.Context, n *releasenotes.Notes) error {
	n.Repository = c.owner + "/" + c.repo
	loginByEmail := map[string]string{}
	loginBySHA := map[string]string{}
	if n.From != "" {
		commits, err := c.compare(ctx, n.From, n.To)
		if err != nil {
			return err
		}
		for _, cc := range commits {
			if cc.Login != "" {
				loginBySHA[cc.SHA] = cc.Login
				if cc.Email != "" {
					loginByEmail[strings.ToLower(cc.Email)] = cc.Login
				}
			}
		}
	}
	var want []int
	seen := map[int]bool{}
	for _, e := range n.Entries() {
		if e.PR != 0 && !seen[e.PR] {
			seen[e.PR] = true
			want = append(want, e.PR)
		}
	}
	prs, err := c.pulls(ctx, want)
	if err != nil {
		return err
	}
	for _, e := range n.Entries() {
		if l := loginBySHA[e.Hash]; l != "" {
			e.Author.Login = l
		}
		if pr, ok := prs[e.PR]; ok {
			e.PRTitle, e.Labels = pr.Title, pr.Labels
			email := strings.ToLower(e.Author.Email)
			if e.Author.Login == "" && pr.Login != "" && loginByEmail[email] == "" {
				// A squash-merged PR's commit is authored by the PR's author.
				e.Author.Login = pr.Login
				loginByEmail[email] = pr.Login
			}
		}
		if e.Author.Login != "" && loginByEmail[strings.ToLower(e.Author.Email)] == "" {
			loginByEmail[strings.ToLower(e.Author.Email)] = e.Author.Login
		}
	}
	for i := range n.Contributors {
		if l := loginByEmail[strings.ToLower(n.Contributors[i].Email)]; l != "" {
			n.Contributors[i].Login = l
		}
	}
	n.ApplyLabels()
	return nil
}

// compare returns the commits between base and head with their logins:
// one call per 100 commits, cached by the two hashes.
func (c *Client) compare(ctx context.Context, base, head string) ([]cachedCommit, error) {
	key := "compare-" + base + "-" + head + ".json"
	var out []cachedCommit
	if c.load(key, &out) {
		return out, nil
	}
	opts := &github.ListOptions{PerPage: 100}
	for {
		cmp, resp, err := c.gh.Repositories.CompareCommits(ctx, c.owner, c.repo, base, head, opts)
		if err != nil {
			return nil, c.wrap("compare "+short(base)+"..."+short(head), err)
		}
		for _, rc := range cmp.Commits {
			cc := cachedCommit{SHA: rc.GetSHA(), Login: rc.GetAuthor().GetLogin()}
			if rc.Commit != nil && rc.Commit.Author != nil {
				cc.Email = rc.Commit.Author.GetEmail()
			}
			out = append(out, cc)
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	c.store(key, out)
	return out, nil
}

// pulls fetches the pull requests numbered want: from the cache, then by
// listing closed pull requests (100 a call, most recently updated first,
// as a release's pull requests are), then one by one for any left.
func (c *Client) pulls(ctx context.Context, want []int) (map[int]cachedPR, error) {
	out := map[int]cachedPR{}
	var missing []int
	for _, n := range want {
		var pr cachedPR
		if c.load("pr-"+strconv.Itoa(n)+".json", &pr) {
			out[n] = pr
		} else {
			missing = append(missing, n)
		}
	}
	keep := func(p *github.PullRequest) {
		pr := cachedPR{Number: p.GetNumber(), Title: p.GetTitle(), Login: p.GetUser().GetLogin(), Merged: p.MergedAt != nil}
		for _, l := range p.Labels {
			pr.Labels = append(pr.Labels, l.GetName())
		}
		out[pr.Number] = pr
		if pr.Merged {
			c.store("pr-"+strconv.Itoa(pr.Number)+".json", pr)
		}
	}
	if len(missing) > 2 {
		need := map[int]bool{}
		for _, n := range missing {
			need[n] = true
		}
		opts := &github.PullRequestListOptions{State: "closed", Sort: "updated", Direction: "desc", ListOptions: github.ListOptions{PerPage: 100}}
		// A page more than the count needs, then give up on listing.
		for pages := 0; len(need) > 0 && pages < len(missing)/100+2; pages++ {
			list, resp, err := c.gh.PullRequests.List(ctx, c.owner, c.repo, opts)
			if err != nil {
				return nil, c.wrap("list pull requests", err)
			}
			for _, p := range list {
				if need[p.GetNumber()] {
					delete(need, p.GetNumber())
					keep(p)
				}
			}
			if resp.NextPage == 0 {
				break
			}
			opts.Page = resp.NextPage
		}
		missing = missing[:0]
		for n := range need {
			missing = append(missing, n)
		}
	}
	for _, n := range missing {
		if _, ok := out[n]; ok {
			continue
		}
		p, _, err := c.gh.PullRequests.Get(ctx, c.owner, c.repo, n)
		if err != nil {
			var er *github.ErrorResponse
			if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
				continue // "(#12)" naming an issue, or a PR of another repository
			}
			return nil, c.wrap("get pull request #"+strconv.Itoa(n), err)
		}
		keep(p)
	}
	return out, nil
}

// Release is a published GitHub Release.
type Release struct {
	ID      int64  `json:"id"`
	URL     string `json:"url"`
	Created bool   `json:"created"`
}

// Publish creates the release of tag, or updates its name and body when it
// exists. It needs a token.
func (c *Client) Publish(ctx context.Context, tag, name, body string, prerelease bool) (*Release, error) {
	existing, _, err := c.gh.Repositories.GetReleaseByTag(ctx, c.owner, c.repo, tag)
	var er *github.ErrorResponse
	switch {
	case err == nil:
		r, _, err := c.gh.Repositories.EditRelease(ctx, c.owner, c.repo, existing.GetID(),
			&github.RepositoryRelease{Name: github.String(name), Body: github.String(body)})
		if err != nil {
			return nil, c.wrap("update release "+tag, err)
		}
		return &Release{ID: r.GetID(), URL: r.GetHTMLURL()}, nil
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound:
		r, _, err := c.gh.Repositories.CreateRelease(ctx, c.owner, c.repo, &github.RepositoryRelease{
			TagName: github.String(tag), Name: github.String(name), Body: github.String(body), Prerelease: github.Bool(prerelease)})
		if err != nil {
			return nil, c.wrap("create release "+tag, err)
		}
		return &Release{ID: r.GetID(), URL: r.GetHTMLURL(), Created: true}, nil
	default:
		return nil, c.wrap("get release "+tag, err)
	}
}

// wrap turns go-github's errors into ours, with what was being done.
func (c *Client) wrap(what string, err error) error {
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return &RateLimitError{Limit: rl.Rate.Limit, Remaining: rl.Rate.Remaining, Reset: rl.Rate.Reset.Time, Token: c.token}
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) {
		e := &RateLimitError{Token: c.token}
		if ab.RetryAfter != nil {
			e.Reset = time.Now().Add(*ab.RetryAfter)
		}
		return e
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return &AuthError{Status: er.Response.StatusCode, Msg: what + ": " + er.Message}
		case http.StatusNotFound:
			return &AuthError{Status: er.Response.StatusCode, Msg: what + ": " + c.owner + "/" + c.repo + " not found (or not visible to this token)"}
		}
		return fmt.Errorf("github: %s: %d %s", what, er.Response.StatusCode, er.Message)
	}
	return fmt.Errorf("github: %s: %w", what, err)
}

func (c *Client) load(key string, v any) bool {
	if c.cache == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(c.cache, key))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// store writes a cache file atomically; a cache that cannot be written is
// only a lost optimisation.
func (c *Client) store(key string, v any) {
	if c.cache == "" {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	if err := os.MkdirAll(c.cache, 0o700); err != nil {
		return
	}
	_ = atomicfile.Write(filepath.Join(c.cache, key), b, atomicfile.Options{Mode: 0o600})
}

func short(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}
