// Package githubtest is a GitHub REST API server for tests: it listens on
// 127.0.0.1 and answers the endpoints release notes use with the real
// request and response shapes (paths, query parameters, JSON fields, Link
// pagination, X-RateLimit-* headers, 403 rate-limit and 401 bad-credential
// bodies). Compare answers come from a real git repository read with
// go-git, so they agree with what the notes walk.
package githubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warden-sec/warden/core/releasenotes/history"
)

// PR is a pull request the server knows.
type PR struct {
	Number int      `json:"number"`
	Title  string   `json:"title"`
	Login  string   `json:"login"`
	Labels []string `json:"labels"`
	Merged bool     `json:"merged"`
	// Updated orders the closed-PR listing (most recent first).
	Updated time.Time `json:"updated"`
}

// Release is a GitHub Release the server holds.
type Release struct {
	ID         int64  `json:"id"`
	TagName    string `json:"tag_name"`
	Name       string `json:"name"`
	Body       string `json:"body"`
	Prerelease bool   `json:"prerelease"`
	Draft      bool   `json:"draft"`
	HTMLURL    string `json:"html_url"`
}

// Data is what the server serves; it can be loaded from JSON.
type Data struct {
	Owner string `json:"owner"`
	Repo  string `json:"repo"`
	// Token, when set, is required as "Authorization: Bearer TOKEN".
	Token string `json:"token"`
	// Logins maps commit author e-mail addresses to GitHub logins.
	Logins map[string]string `json:"logins"`
	Pulls  []PR              `json:"pulls"`
	// RateLimit is how many requests are answered before 403s (0: 5000).
	RateLimit int `json:"rateLimit"`
	// Used is how much of the limit earlier clients spent already.
	Used     int       `json:"used"`
	Releases []Release `json:"releases"`
}

// Request is one request the server received (without credentials).
type Request struct {
	Method string
	Path   string
	Query  string
	Auth   bool
	Body   string
	Status int
}

// Server is a running fake.
type Server struct {
	URL  string
	repo string
	srv  *http.Server
	ln   net.Listener

	mu       sync.Mutex
	data     Data
	used     int
	requests []Request
	nextID   int64
	reset    time.Time
}

// Start serves data for the git repository in repoDir.
func Start(repoDir string, data Data) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if data.RateLimit == 0 {
		data.RateLimit = 5000
	}
	s := &Server{URL: "http://" + ln.Addr().String() + "/", repo: repoDir, ln: ln, data: data, nextID: 1000,
		used: data.Used, reset: time.Now().Add(time.Hour).Truncate(time.Second)}
	for _, r := range data.Releases {
		if r.ID >= s.nextID {
			s.nextID = r.ID + 1
		}
	}
	mux := http.NewServeMux()
	base := "/repos/" + data.Owner + "/" + data.Repo
	mux.HandleFunc("GET "+base+"/compare/{basehead}", s.compare)
	mux.HandleFunc("GET "+base+"/pulls", s.listPulls)
	mux.HandleFunc("GET "+base+"/pulls/{number}", s.getPull)
	mux.HandleFunc("GET "+base+"/releases/tags/{tag...}", s.releaseByTag)
	mux.HandleFunc("POST "+base+"/releases", s.createRelease)
	mux.HandleFunc("PATCH "+base+"/releases/{id}", s.editRelease)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.fail(w, http.StatusNotFound, "Not Found") })
	s.srv = &http.Server{Handler: s.gate(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Shutdown(context.Background()) }

// Requests returns what the server received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Releases returns the releases the server holds.
func (s *Server) Releases() []Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Release(nil), s.data.Releases...)
}

// gate records the request, checks credentials and applies the rate limit,
// setting the X-RateLimit-* headers GitHub sends on every answer.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		auth := r.Header.Get("Authorization")
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: auth != "", Body: string(body)})
		idx := len(s.requests) - 1
		limit := s.data.RateLimit
		over := s.used >= limit
		if !over {
			s.used++
		}
		remaining := limit - s.used
		token := s.data.Token
		s.mu.Unlock()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			s.mu.Lock()
			s.requests[idx].Status = sw.code
			s.mu.Unlock()
		}()
		w = sw
		h := w.Header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(s.reset.Unix(), 10))
		h.Set("X-RateLimit-Used", strconv.Itoa(s.used))
		h.Set("X-RateLimit-Resource", "core")
		h.Set("X-GitHub-Media-Type", "github.v3; format=json")
		if token != "" && auth != "Bearer "+token {
			s.fail(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		if over {
			s.fail(w, http.StatusForbidden, "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) fail(w http.ResponseWriter, code int, msg string) {
	doc := "https://docs.github.com/rest"
	if code == http.StatusForbidden {
		doc = "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
	}
	writeJSON(w, code, map[string]string{"message": msg, "documentation_url": doc})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// page applies per_page/page and sets a Link header like GitHub's.
func page[T any](w http.ResponseWriter, r *http.Request, all []T) []T {
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 {
		per = 30
	}
	if per > 100 {
		per = 100
	}
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if p <= 0 {
		p = 1
	}
	last := (len(all) + per - 1) / per
	if last == 0 {
		last = 1
	}
	link := func(n int) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		q := u.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(per))
		u.RawQuery = q.Encode()
		return u.String()
	}
	var links []string
	if p < last {
		links = append(links, fmt.Sprintf(`<%s>; rel="next"`, link(p+1)), fmt.Sprintf(`<%s>; rel="last"`, link(last)))
	}
	if p > 1 {
		links = append(links, fmt.Sprintf(`<%s>; rel="prev"`, link(p-1)), fmt.Sprintf(`<%s>; rel="first"`, link(1)))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo := (p - 1) * per
	if lo > len(all) {
		lo = len(all)
	}
	hi := lo + per
	if hi > len(all) {
		hi = len(all)
	}
	return all[lo:hi]
}

type user struct {
	Login string `json:"login"`
	ID    int    `json:"id"`
	Type  string `json:"type"`
}

func (s *Server) compare(w http.ResponseWriter, r *http.Request) {
	base, head, ok := strings.Cut(r.PathValue("basehead"), "...")
	if !ok {
		s.fail(w, http.StatusNotFound, "Not Found")
		return
	}
	repo, err := history.Open(s.repo)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	rg, err := repo.Range(r.Context(), history.Options{From: base, To: head})
	if err != nil {
		s.fail(w, http.StatusNotFound, "No common ancestor between "+base+" and "+head+".")
		return
	}
	type commitAuthor struct {
		Name  string `json:"name"`
		Email string `json:"email"`
		Date  string `json:"date"`
	}
	type repoCommit struct {
		SHA    string `json:"sha"`
		NodeID string `json:"node_id"`
		Commit struct {
			Author    commitAuthor `json:"author"`
			Committer commitAuthor `json:"committer"`
			Message   string       `json:"message"`
		} `json:"commit"`
		Author  *user `json:"author"`
		Parents []struct {
			SHA string `json:"sha"`
		} `json:"parents"`
	}
	// GitHub lists compare commits oldest first.
	var all []repoCommit
	for i := len(rg.Commits) - 1; i >= 0; i-- {
		c := rg.Commits[i]
		var rc repoCommit
		rc.SHA = c.Hash
		rc.NodeID = "C_" + c.Hash[:12]
		rc.Commit.Author = commitAuthor{c.Author.Name, c.Author.Email, c.Author.When.UTC().Format(time.RFC3339)}
		rc.Commit.Committer = commitAuthor{c.Committer.Name, c.Committer.Email, c.Committer.When.UTC().Format(time.RFC3339)}
		rc.Commit.Message = strings.TrimRight(c.Message, "\n")
		if l := s.data.Logins[strings.ToLower(c.Author.Email)]; l != "" {
			rc.Author = &user{Login: l, ID: len(l), Type: "User"}
		}
		for _, p := range c.Parents {
			rc.Parents = append(rc.Parents, struct {
				SHA string `json:"sha"`
			}{p})
		}
		all = append(all, rc)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"url":           s.URL + strings.TrimPrefix(r.URL.Path, "/"),
		"status":        "ahead",
		"ahead_by":      len(all),
		"behind_by":     0,
		"total_commits": len(all),
		"commits":       page(w, r, all),
		"files":         []any{},
	})
}

type label struct {
	Name  string `json:"name"`
	Color string `json:"color"`
}

type pull struct {
	Number   int     `json:"number"`
	State    string  `json:"state"`
	Title    string  `json:"title"`
	User     user    `json:"user"`
	Labels   []label `json:"labels"`
	MergedAt *string `json:"merged_at"`
	ClosedAt string  `json:"closed_at"`
	Updated  string  `json:"updated_at"`
	HTMLURL  string  `json:"html_url"`
}

func (s *Server) pullJSON(p PR) pull {
	out := pull{Number: p.Number, State: "closed", Title: p.Title, User: user{Login: p.Login, ID: len(p.Login), Type: "User"},
		Labels: []label{}, ClosedAt: p.Updated.UTC().Format(time.RFC3339), Updated: p.Updated.UTC().Format(time.RFC3339),
		HTMLURL: fmt.Sprintf("https://github.com/%s/%s/pull/%d", s.data.Owner, s.data.Repo, p.Number)}
	for _, l := range p.Labels {
		out.Labels = append(out.Labels, label{Name: l, Color: "ededed"})
	}
	if p.Merged {
		m := out.ClosedAt
		out.MergedAt = &m
	}
	return out
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("state") != "closed" && q.Get("state") != "all" {
		writeJSON(w, http.StatusOK, []pull{})
		return
	}
	s.mu.Lock()
	prs := append([]PR(nil), s.data.Pulls...)
	s.mu.Unlock()
	sort.SliceStable(prs, func(i, j int) bool {
		if q.Get("direction") == "asc" {
			return prs[i].Updated.Before(prs[j].Updated)
		}
		return prs[i].Updated.After(prs[j].Updated)
	})
	out := make([]pull, len(prs))
	for i, p := range prs {
		out[i] = s.pullJSON(p)
	}
	writeJSON(w, http.StatusOK, page(w, r, out))
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("number"))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.data.Pulls {
		if err == nil && p.Number == n {
			writeJSON(w, http.StatusOK, s.pullJSON(p))
			return
		}
	}
	s.fail(w, http.StatusNotFound, "Not Found")
}

func (s *Server) releaseByTag(w http.ResponseWriter, r *http.Request) {
	tag, _ := url.PathUnescape(r.PathValue("tag"))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rel := range s.data.Releases {
		if rel.TagName == tag {
			writeJSON(w, http.StatusOK, rel)
			return
		}
	}
	s.fail(w, http.StatusNotFound, "Not Found")
}

func (s *Server) createRelease(w http.ResponseWriter, r *http.Request) {
	var in Release
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.TagName == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
			"errors": []map[string]string{{"resource": "Release", "code": "missing_field", "field": "tag_name"}}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rel := range s.data.Releases {
		if rel.TagName == in.TagName {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
				"errors": []map[string]string{{"resource": "Release", "code": "already_exists", "field": "tag_name"}}})
			return
		}
	}
	in.ID = s.nextID
	s.nextID++
	in.HTMLURL = fmt.Sprintf("https://github.com/%s/%s/releases/tag/%s", s.data.Owner, s.data.Repo, in.TagName)
	s.data.Releases = append(s.data.Releases, in)
	writeJSON(w, http.StatusCreated, in)
}

func (s *Server) editRelease(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, rel := range s.data.Releases {
		if rel.ID != id {
			continue
		}
		if v, ok := in["name"].(string); ok {
			rel.Name = v
		}
		if v, ok := in["body"].(string); ok {
			rel.Body = v
		}
		if v, ok := in["prerelease"].(bool); ok {
			rel.Prerelease = v
		}
		s.data.Releases[i] = rel
		writeJSON(w, http.StatusOK, rel)
		return
	}
	s.fail(w, http.StatusNotFound, "Not Found")
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}
