// Package releasenotes turns the commits of one release into notes: it
// parses Conventional Commits, cancels reverted commits, finds pull-request
// numbers (in a subject's "(#123)" or a merge commit), security advisory
// ids, breaking changes and contributors, and groups the entries into
// sections. Reading the history is package history's job; talking to
// GitHub is package githubapi's; rendering is the caller's.
package releasenotes

import (
	"bytes"
	"context"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/releasenotes/conventional"
	"github.com/warden-sec/warden/core/releasenotes/history"
)

// Person is a commit author or co-author.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	// Login is the GitHub login, when known (--github).
	Login string `json:"login,omitempty"`
}

// Advisory is a CVE or GHSA id a commit references.
type Advisory struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// Entry is one commit in the notes.
type Entry struct {
	Hash         string                `json:"hash"`
	ShortHash    string                `json:"shortHash"`
	Subject      string                `json:"subject"`
	Conventional bool                  `json:"conventional"`
	Type         string                `json:"type,omitempty"`
	Scope        string                `json:"scope,omitempty"`
	Description  string                `json:"description"`
	Body         string                `json:"body,omitempty"`
	Footers      []conventional.Footer `json:"footers,omitempty"`
	Breaking     bool                  `json:"breaking"`
	BreakingNote string                `json:"breakingNote,omitempty"`
	PR           int                   `json:"pr,omitempty"`
	PRTitle      string                `json:"prTitle,omitempty"`
	Labels       []string              `json:"labels,omitempty"`
	Author       Person                `json:"author"`
	Date         time.Time             `json:"date"`
	Advisories   []Advisory            `json:"advisories,omitempty"`
	// Reverts is the commit a kept revert entry undoes (one from an
	// earlier release).
	Reverts string `json:"reverts,omitempty"`
}

// Section is a titled list of entries.
type Section struct {
	Title   string   `json:"title"`
	Entries []*Entry `json:"entries"`
}

// Contributor is someone who authored or co-authored a commit of the release.
type Contributor struct {
	Person
	Commits int `json:"commits"`
	// FirstTime is set when the person has no commit before this release.
	FirstTime bool `json:"firstTime"`
}

// Notes are the release notes of one range.
type Notes struct {
	Tag          string    `json:"tag,omitempty"`
	Version      string    `json:"version,omitempty"`
	PreviousTag  string    `json:"previousTag,omitempty"`
	From         string    `json:"from,omitempty"`
	To           string    `json:"to"`
	FirstRelease bool      `json:"firstRelease"`
	Date         time.Time `json:"date"`
	Path         string    `json:"path,omitempty"`
	// Repository is OWNER/REPO when the notes were enriched from GitHub.
	Repository string `json:"repository,omitempty"`
	// Commits counts the commits of the range (after --path), merges included.
	Commits  int        `json:"commits"`
	Breaking []*Entry   `json:"breaking"`
	Security []*Entry   `json:"security"`
	Sections []*Section `json:"sections"`
	// Contributors are sorted by name.
	Contributors []Contributor `json:"contributors"`
	// NonConventional lists the commits whose subject is not a
	// conventional commit (in Other, or dropped under Strict).
	NonConventional []*Entry `json:"nonConventional"`
	// Reverted lists commits cancelled by a revert in the same release.
	Reverted []string `json:"reverted"`
	// Remarks are notes for the reader, such as "no previous release".
	Remarks []string `json:"remarks"`
}

// Options tune Build.
type Options struct {
	Config Config
	// Strict drops non-conventional commits (they stay listed in
	// NonConventional for the caller to report).
	Strict bool
	Path   string
}

var (
	prSuffix    = regexp.MustCompile(`\(#(\d+)\)\s*$`)
	mergePR     = regexp.MustCompile(`^Merge pull request #(\d+) `)
	gitRevert   = regexp.MustCompile(`^Revert "(.+)"$`)
	revertedRe  = regexp.MustCompile(`(?m)This reverts commit ([0-9a-fA-F]{7,40})`)
	hashRe      = regexp.MustCompile(`\b[0-9a-fA-F]{7,40}\b`)
	cveRe       = regexp.MustCompile(`(?i)\bCVE-\d{4}-\d{4,}\b`)
	ghsaRe      = regexp.MustCompile(`(?i)\bGHSA(?:-[23456789cfghjmpqrvwx]{4}){3}\b`)
	coAuthorRe  = regexp.MustCompile(`(?mi)^co-authored-by:\s*(.*?)\s*<([^>]+)>\s*$`)
	securityTyp = map[string]bool{"security": true, "sec": true}
)

// CoAuthors returns the e-mail addresses of a message's Co-authored-by trailers.
func CoAuthors(message string) []string {
	if !mayHaveCoAuthor(message) {
		return nil
	}
	var out []string
	for _, m := range coAuthorRe.FindAllStringSubmatch(message, -1) {
		out = append(out, m[2])
	}
	return out
}

// coAuthorsOf is CoAuthors for a message in bytes, which it does not keep.
// It runs the expression from the first line that starts with the
// trailer's key, where any match starts (none of the key's letters has a
// case fold outside ASCII): most of a message is not read twice.
func coAuthorsOf(message []byte) []string {
	if !bytes.Contains(message, []byte("uthored-")) && !bytes.Contains(message, []byte("UTHORED-")) {
		return nil
	}
	const key = "co-authored-by:"
	from := -1
	for line := 0; line < len(message); {
		if len(message)-line >= len(key) && asciiEqualFold(message[line:line+len(key)], key) {
			from = line
			break
		}
		i := bytes.IndexByte(message[line:], '\n')
		if i < 0 {
			break
		}
		line += i + 1
	}
	if from < 0 {
		return nil
	}
	var out []string
	for _, m := range coAuthorRe.FindAllSubmatch(message[from:], -1) {
		out = append(out, string(m[2]))
	}
	return out
}

// asciiEqualFold compares b with the lower-case ASCII s, ignoring case.
func asciiEqualFold(b []byte, s string) bool {
	for i := range len(s) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// Build makes notes from a walked range.
func Build(rg *history.Range, o Options) *Notes {
	cfg := o.Config
	if cfg.Groups == nil {
		cfg = DefaultConfig()
	}
	n := &Notes{Tag: rg.ToTag, Version: rg.Version, PreviousTag: rg.FromTag, From: rg.From, To: rg.To,
		FirstRelease: rg.FirstRelease, Date: rg.Date, Path: o.Path,
		Breaking: []*Entry{}, Security: []*Entry{}, Sections: []*Section{}, Contributors: []Contributor{},
		NonConventional: []*Entry{}, Reverted: []string{}, Remarks: []string{}}
	if rg.FirstRelease && rg.From == "" {
		n.Remarks = append(n.Remarks, "No previous release tag: these notes cover the whole history from the root commit.")
	}
	prs := mergedPRs(rg.Commits)

	// Oldest first, so a revert meets the commit it reverts already listed.
	var entries []*Entry
	idx := newEntryIndex()
	cancelled := map[string]*Entry{} // revert hash -> the entry it cancelled
	contrib := map[string]*Contributor{}
	var order []string
	for i := len(rg.Commits) - 1; i >= 0; i-- {
		c := rg.Commits[i]
		if !c.Touches {
			continue
		}
		n.Commits++
		if len(c.Parents) > 1 {
			continue // a merge is not a change of its own; its PR number went to its commits
		}
		subject, _, _ := strings.Cut(strings.TrimLeft(c.Message, "\n"), "\n")
		subject = strings.TrimSpace(subject)
		if skipped(cfg, subject) {
			continue
		}
		e := newEntry(c, subject)
		if e.PR == 0 {
			e.PR = prs[c.Hash]
		}
		for _, p := range append([]Person{e.Author}, coAuthorPeople(c.Message)...) {
			key := strings.ToLower(p.Email)
			if ct, ok := contrib[key]; ok {
				ct.Commits++
				continue
			}
			contrib[key] = &Contributor{Person: p, Commits: 1}
			order = append(order, key)
		}
		if target := revertTarget(c.Message, e); target != "" {
			if victim := idx.find(target); victim != nil {
				// Revert of a change in this release: both disappear.
				idx.remove(victim)
				cancelled[e.Hash] = victim
				n.Reverted = append(n.Reverted, victim.Hash)
				continue
			}
			if victim := findCancelled(cancelled, target); victim != nil {
				// Revert of a revert: the original change is back.
				entries = append(entries, victim)
				idx.add(victim)
				n.Reverted = removeString(n.Reverted, victim.Hash)
				continue
			}
			e.Reverts = target
		}
		entries = append(entries, e)
		idx.add(e)
	}
	entries = idx.live(entries)

	sections := map[string]*Section{}
	for _, e := range entries {
		if !e.Conventional {
			n.NonConventional = append(n.NonConventional, e)
			if o.Strict {
				continue
			}
		}
		if e.Breaking {
			n.Breaking = append(n.Breaking, e)
		}
		if securityTyp[e.Type] || len(e.Advisories) > 0 {
			n.Security = append(n.Security, e)
			if securityTyp[e.Type] {
				continue
			}
		}
		title := ""
		if e.Conventional {
			title = cfg.groupOf(e.Type)
		}
		if title == "" {
			title = cfg.Other
			if title == "" {
				continue
			}
			// An unknown type reads better with its prefix kept.
			e.Description = strings.TrimSpace(prSuffix.ReplaceAllString(e.Subject, ""))
		}
		s := sections[title]
		if s == nil {
			s = &Section{Title: title}
			sections[title] = s
		}
		s.Entries = append(s.Entries, e)
	}
	for _, g := range cfg.Groups {
		if s := sections[g.Title]; s != nil {
			n.Sections = append(n.Sections, s)
			delete(sections, g.Title)
		}
	}
	if s := sections[cfg.Other]; s != nil {
		n.Sections = append(n.Sections, s)
	}
	for _, k := range order {
		n.Contributors = append(n.Contributors, *contrib[k])
	}
	sort.SliceStable(n.Contributors, func(i, j int) bool {
		return strings.ToLower(n.Contributors[i].Name) < strings.ToLower(n.Contributors[j].Name)
	})
	return n
}

// AuthorCache keeps the author sets of commits between runs
// (authorcache.Cache); nil works without one.
type AuthorCache interface {
	Load(commit string) (map[string]bool, bool)
	Store(commit string, set map[string]bool)
}

// MarkFirstTime flags the contributors who have no commit reachable from
// the previous release. It reads the earlier history through repo and
// stops as soon as everyone is found; when it had to read it all, the
// set is stored in cache for the next release's run.
func MarkFirstTime(ctx context.Context, repo *history.Repo, n *Notes, cache AuthorCache) error {
	if n.From == "" || len(n.Contributors) == 0 {
		return nil
	}
	want := make([]string, len(n.Contributors))
	for i, c := range n.Contributors {
		want[i] = strings.ToLower(c.Email)
	}
	var known func(string) (map[string]bool, bool)
	if cache != nil {
		known = cache.Load
		// An empty cache knows no commit: no need to ask it at each one.
		if c, ok := cache.(interface{ Len() int }); ok && c.Len() == 0 {
			known = nil
		}
	}
	last := -1
	all := func(set map[string]bool) bool {
		if len(set) == last {
			return false // nothing new since the last check
		}
		last = len(set)
		for _, w := range want {
			if !set[w] {
				return false
			}
		}
		return true
	}
	found, complete, err := repo.Authors(ctx, n.From, coAuthorsOf, known, all)
	if err != nil {
		return err
	}
	if complete && cache != nil {
		cache.Store(n.From, found)
	}
	for i := range n.Contributors {
		n.Contributors[i].FirstTime = !found[want[i]]
	}
	return nil
}

var (
	breakingLabels = map[string]bool{"breaking": true, "breaking-change": true, "breaking change": true, "semver-major": true, "semver:major": true}
	securityLabels = map[string]bool{"security": true, "vulnerability": true}
)

// ApplyLabels takes pull-request labels (known after GitHub enrichment)
// into account: an entry whose PR is labelled breaking is a breaking
// change, with the PR title as its note unless it has one; one labelled
// security is listed under Security too.
func (n *Notes) ApplyLabels() {
	inBreaking, inSecurity := map[*Entry]bool{}, map[*Entry]bool{}
	for _, e := range n.Breaking {
		inBreaking[e] = true
	}
	for _, e := range n.Security {
		inSecurity[e] = true
	}
	for _, e := range n.Entries() {
		for _, l := range e.Labels {
			l = strings.ToLower(strings.TrimSpace(l))
			if breakingLabels[l] && !inBreaking[e] {
				inBreaking[e] = true
				e.Breaking = true
				if e.BreakingNote == "" {
					e.BreakingNote = e.PRTitle
				}
				n.Breaking = append(n.Breaking, e)
			}
			if securityLabels[l] && !inSecurity[e] {
				inSecurity[e] = true
				n.Security = append(n.Security, e)
			}
		}
	}
}

// Entries returns every entry in the notes once, in section order.
func (n *Notes) Entries() []*Entry {
	seen := map[*Entry]bool{}
	var out []*Entry
	add := func(es []*Entry) {
		for _, e := range es {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	add(n.Breaking)
	add(n.Security)
	for _, s := range n.Sections {
		add(s.Entries)
	}
	return out
}

func newEntry(c history.Commit, subject string) *Entry {
	e := &Entry{Hash: c.Hash, ShortHash: c.Hash[:7], Subject: subject, Description: subject,
		Author: Person{Name: c.Author.Name, Email: c.Author.Email}, Date: c.Author.When}
	if m := prSuffix.FindStringSubmatch(subject); strings.HasSuffix(strings.TrimSpace(subject), ")") && m != nil {
		e.PR, _ = strconv.Atoi(m[1])
	}
	if cc, err := conventional.Parse(c.Message); err == nil {
		e.Conventional = true
		e.Type, e.Scope, e.Description, e.Body, e.Footers = cc.Type, cc.Scope, cc.Description, cc.Body, cc.Footers
		e.Breaking, e.BreakingNote = cc.Breaking, cc.BreakingNote
		if e.PR != 0 {
			e.Description = strings.TrimSpace(prSuffix.ReplaceAllString(e.Description, ""))
		}
	} else {
		_, body, _ := strings.Cut(strings.TrimLeft(c.Message, "\n"), "\n")
		e.Body = strings.TrimSpace(body)
		if e.PR != 0 {
			e.Description = strings.TrimSpace(prSuffix.ReplaceAllString(subject, ""))
		}
		// `git revert` writes `Revert "subject"`: a revert, as the
		// usual tools read it, not a non-conventional commit.
		if m := gitRevert.FindStringSubmatch(e.Description); m != nil && strings.Contains(e.Body, "This reverts commit") {
			e.Conventional, e.Type, e.Description = true, "revert", m[1]
		}
	}
	e.Advisories = advisories(subject, c.Message)
	return e
}

// advisories returns the CVE and GHSA ids named anywhere in a commit: the
// subject (which a merge may take from its pull request), the body, prose
// included ("Fixes CVE-2024-12345."), and the footers. Ids are written the
// canonical way (CVE-2024-12345, GHSA-xxxx-xxxx-xxxx), each once, in the
// order they first appear. An id is a whole word, in any case: CVE-YYYY-
// and four digits or more, or GHSA- and three groups of four letters and
// digits of GitHub's alphabet (so "CVE-2024" alone, CVE-2024-123 and
// CVE-2024-12345x are none).
func advisories(texts ...string) []Advisory {
	var out []Advisory
	seen := map[string]bool{}
	for _, text := range texts {
		if !mayHaveAdvisory(text) {
			continue
		}
		ids := cveRe.FindAllStringIndex(text, -1)
		ids = append(ids, ghsaRe.FindAllStringIndex(text, -1)...)
		sort.Slice(ids, func(i, j int) bool { return ids[i][0] < ids[j][0] })
		for _, m := range ids {
			id := text[m[0]:m[1]]
			url := ""
			if strings.HasPrefix(strings.ToUpper(id), "CVE-") {
				id = strings.ToUpper(id)
				url = "https://nvd.nist.gov/vuln/detail/" + id
			} else {
				id = "GHSA-" + strings.ToLower(id[len("GHSA-"):])
				url = "https://github.com/advisories/" + id
			}
			if !seen[id] {
				seen[id] = true
				out = append(out, Advisory{ID: id, URL: url})
			}
		}
	}
	return out
}

// mayHaveAdvisory is a cheap test before the regular expressions: "cve-"
// or "ghsa-" in any case.
func mayHaveAdvisory(s string) bool {
	for i := strings.IndexByte(s, '-'); i >= 0; {
		if (i >= 3 && strings.EqualFold(s[i-3:i], "cve")) || (i >= 4 && strings.EqualFold(s[i-4:i], "ghsa")) {
			return true
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func coAuthorPeople(message string) []Person {
	if !mayHaveCoAuthor(message) {
		return nil
	}
	var out []Person
	for _, m := range coAuthorRe.FindAllStringSubmatch(message, -1) {
		out = append(out, Person{Name: m[1], Email: m[2]})
	}
	return out
}

// mayHaveCoAuthor is a cheap test before the regular expression.
func mayHaveCoAuthor(message string) bool {
	return strings.Contains(message, "uthored-") || strings.Contains(message, "UTHORED-")
}

func skipped(cfg Config, subject string) bool {
	for _, re := range cfg.Skip {
		if re.MatchString(subject) {
			return true
		}
	}
	return false
}

// revertTarget returns the hash (maybe abbreviated) of the commit a revert
// undoes: git's "This reverts commit X." line, or a conventional
// `revert:` commit's Refs footer.
func revertTarget(message string, e *Entry) string {
	if strings.Contains(message, "This reverts commit") {
		if m := revertedRe.FindStringSubmatch(message); m != nil {
			return strings.ToLower(m[1])
		}
	}
	if e.Type == "revert" {
		for _, f := range e.Footers {
			if strings.EqualFold(f.Token, "refs") {
				if h := hashRe.FindString(f.Value); h != "" {
					return strings.ToLower(h)
				}
			}
		}
	}
	return ""
}

// entryIndex finds listed entries by full or abbreviated hash.
type entryIndex struct {
	byShort map[string][]*Entry // by the first 7 hex digits
	removed map[*Entry]bool
}

func newEntryIndex() *entryIndex {
	return &entryIndex{byShort: map[string][]*Entry{}, removed: map[*Entry]bool{}}
}

func (x *entryIndex) add(e *Entry) {
	delete(x.removed, e)
	k := e.Hash[:7]
	for _, o := range x.byShort[k] {
		if o == e {
			return
		}
	}
	x.byShort[k] = append(x.byShort[k], e)
}

func (x *entryIndex) remove(e *Entry) { x.removed[e] = true }

func (x *entryIndex) find(prefix string) *Entry {
	if len(prefix) < 7 {
		return nil
	}
	for _, e := range x.byShort[prefix[:7]] {
		if !x.removed[e] && strings.HasPrefix(e.Hash, prefix) {
			return e
		}
	}
	return nil
}

// live returns the entries not removed, each once, in order.
func (x *entryIndex) live(entries []*Entry) []*Entry {
	out := entries[:0]
	seen := map[*Entry]bool{}
	for _, e := range entries {
		if !x.removed[e] && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

func removeString(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// mergedPRs gives the commits a pull-request merge brought in the PR's
// number. Merges on the first-parent line are taken oldest first; each
// claims the commits reachable from its other parents that are in the
// range, off the first-parent line, and not claimed by an older merge.
func mergedPRs(commits []history.Commit) map[string]int {
	out := map[string]int{}
	if len(commits) == 0 {
		return out
	}
	byHash := make(map[string]*history.Commit, len(commits))
	for i := range commits {
		byHash[commits[i].Hash] = &commits[i]
	}
	// The first-parent line from the newest commit.
	var line []*history.Commit
	onLine := map[string]bool{}
	for c := &commits[0]; c != nil; {
		line = append(line, c)
		onLine[c.Hash] = true
		if len(c.Parents) == 0 {
			break
		}
		c = byHash[c.Parents[0]]
	}
	claimed := map[string]bool{}
	for i := len(line) - 1; i >= 0; i-- {
		m := line[i]
		if len(m.Parents) < 2 {
			continue
		}
		subject, _, _ := strings.Cut(m.Message, "\n")
		pm := mergePR.FindStringSubmatch(subject)
		if pm == nil {
			continue
		}
		pr, _ := strconv.Atoi(pm[1])
		stack := append([]string(nil), m.Parents[1:]...)
		for len(stack) > 0 {
			h := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			c, ok := byHash[h]
			if !ok || onLine[h] || claimed[h] {
				continue
			}
			claimed[h] = true
			out[h] = pr
			stack = append(stack, c.Parents...)
		}
	}
	return out
}

// Hashes returns the full and short commit hash (for templates).
func (e *Entry) Hashes() (string, string) { return e.Hash, e.ShortHash }

func findCancelled(cancelled map[string]*Entry, prefix string) *Entry {
	if e, ok := cancelled[prefix]; ok {
		delete(cancelled, prefix)
		return e
	}
	for h, e := range cancelled {
		if strings.HasPrefix(h, prefix) {
			delete(cancelled, h)
			return e
		}
	}
	return nil
}
