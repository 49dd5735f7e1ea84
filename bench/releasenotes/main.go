// Command releasenotes writes a `git fast-import` stream for a synthetic
// history to benchmark `warden release-notes` against other tools: N
// commits with conventional and non-conventional subjects, scopes, breaking
// footers, PR numbers, advisories, reverts and co-authors, a merged branch
// every 100 commits, an annotated release tag every N/T commits (with a
// release candidate before every tenth), and a pool of authors that grows, so the
// last release has a first-time contributor and the search for them walks
// the whole earlier history.
//
// Usage: go run ./bench/releasenotes -commits 100000 -tags 200 | git fast-import
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"
)

func main() {
	commits := flag.Int("commits", 100000, "number of commits")
	tags := flag.Int("tags", 200, "number of release tags")
	flag.Parse()
	if *commits < 10 || *tags < 1 || *tags > *commits/5 {
		fmt.Fprintln(os.Stderr, "releasenotes: need at least 10 commits and at most one tag per 5 commits")
		os.Exit(2)
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	g := &gen{w: w, rng: rand.New(rand.NewPCG(1, 2)), when: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)}
	every := *commits / *tags
	lastRelease := every * *tags
	next := every // commit count of the next release tag
	for i := 1; i <= *commits; {
		// The author pool grows by one every 250 commits; the last
		// release's first commit is by someone new.
		authors := 3 + i/250
		a := g.rng.IntN(authors)
		if i == lastRelease-every+1 {
			a = authors + 1000
		}
		g.author = fmt.Sprintf("Dev %d <dev%d@example.com>", a, a)
		if i%100 == 50 && i+2 < next {
			g.mergedBranch(i)
			i += 3
		} else {
			g.commit("refs/heads/main", g.subject(i), 0)
			i++
		}
		if i > next {
			n := next / every
			if n%10 == 0 {
				// Every tenth release had a release candidate.
				g.tag(fmt.Sprintf("v%d.%d.0-rc.1", n/10+1, n%10), g.mark-1)
			}
			g.tag(fmt.Sprintf("v%d.%d.0", n/10+1, n%10), g.mark)
			next += every
		}
	}
}

type gen struct {
	w      *bufio.Writer
	rng    *rand.Rand
	mark   int
	when   time.Time
	author string
	pr     int
	files  int
	topic  [][2]string // files changed on the topic branch, for its merge
}

var (
	types  = []string{"feat", "feat", "feat", "fix", "fix", "fix", "fix", "docs", "chore", "refactor", "perf", "test", "ci", "build"}
	scopes = []string{"", "", "api", "cli", "auth", "gateway", "store", "docs", "deps", "sandbox"}
	words  = strings.Fields("add remove handle reject support cache parse render refresh rotate verify " +
		"tokens sessions config paths users limits headers errors output retries timeouts logs")
)

func (g *gen) subject(i int) string {
	r := g.rng.IntN(100)
	desc := words[g.rng.IntN(11)] + " " + words[11+g.rng.IntN(len(words)-11)] + fmt.Sprintf(" (change %d)", i)
	switch {
	case r < 8:
		return "Update " + desc // not conventional
	case r < 10 && g.mark > 10:
		return fmt.Sprintf("Revert \"something\"\n\nThis reverts commit %s.", g.markRef(g.mark-g.rng.IntN(5)-1))
	}
	t := types[g.rng.IntN(len(types))]
	s := scopes[g.rng.IntN(len(scopes))]
	head := t
	if s != "" {
		head += "(" + s + ")"
	}
	msg := head
	if r < 12 {
		msg += "!"
	}
	msg += ": " + desc
	if r < 60 {
		g.pr++
		msg += fmt.Sprintf(" (#%d)", g.pr)
	}
	msg += "\n\nSome explanation of the change, wrapped at a\nreasonable width, as people write them."
	var footers []string
	if r >= 12 && r < 14 {
		footers = append(footers, "BREAKING CHANGE: the old behaviour is gone")
	}
	if r >= 14 && r < 15 {
		footers = append(footers, fmt.Sprintf("Fixes: CVE-2024-%05d", i))
	}
	if r >= 15 && r < 20 {
		footers = append(footers, "Co-authored-by: Pair Programmer <pair@example.com>")
	}
	footers = append(footers, "Signed-off-by: "+g.author)
	return msg + "\n\n" + strings.Join(footers, "\n")
}

// markRef names an earlier commit in a message: fast-import has no hash
// yet, so reverts name a mark; tools see an unknown hash and keep the
// revert as an entry, which is the work being measured.
func (g *gen) markRef(m int) string { return fmt.Sprintf("%040x", m) }

func (g *gen) sig() string {
	g.when = g.when.Add(time.Duration(10+g.rng.IntN(50)) * time.Minute)
	return fmt.Sprintf("%s %d +0000", g.author, g.when.Unix())
}

// commit writes one commit on ref and returns its mark. merge, when set,
// is a second parent, and the files the merged branch changed are carried
// into the merge (fast-import does not merge trees itself).
func (g *gen) commit(ref, msg string, merge int) int {
	g.mark++
	sig := g.sig()
	fmt.Fprintf(g.w, "commit %s\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\n", ref, g.mark, sig, sig, len(msg), msg)
	if merge != 0 {
		fmt.Fprintf(g.w, "merge :%d\n", merge)
		for _, f := range g.topic {
			fmt.Fprintf(g.w, "M 100644 inline %s\ndata %d\n%s\n", f[0], len(f[1]), f[1])
		}
		g.topic = nil
	}
	g.files++
	dir := scopes[g.rng.IntN(len(scopes))]
	if dir == "" {
		dir = "internal"
	}
	path := fmt.Sprintf("src/%s/file%d.go", dir, g.files%40)
	content := fmt.Sprintf("// change %d\npackage %s\n", g.mark, dir)
	fmt.Fprintf(g.w, "M 100644 inline %s\ndata %d\n%s\n", path, len(content), content)
	if ref == "refs/heads/topic" {
		g.topic = append(g.topic, [2]string{path, content})
	}
	return g.mark
}

// mergedBranch writes a two-commit topic branch off main and a GitHub
// merge commit bringing it in.
func (g *gen) mergedBranch(i int) {
	fmt.Fprintf(g.w, "reset refs/heads/topic\nfrom :%d\n\n", g.mark)
	g.commit("refs/heads/topic", g.subject(i), 0)
	topic := g.commit("refs/heads/topic", g.subject(i), 0)
	g.pr++
	g.commit("refs/heads/main", fmt.Sprintf("Merge pull request #%d from dev/topic-%d\n\nTopic %d", g.pr, i, i), topic)
}

func (g *gen) tag(name string, mark int) {
	sig := g.sig()
	msg := "Release " + name + "\n"
	fmt.Fprintf(g.w, "tag %s\nfrom :%d\ntagger %s\ndata %d\n%s\n", name, mark, sig, len(msg), msg)
}
