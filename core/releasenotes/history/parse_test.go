package history

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// The scan's parser reads parents, author and co-authors exactly as
// go-git's decoder does, odd commits included; it gives up where go-git
// fails.
func TestCommitParserMatchesGoGit(t *testing.T) {
	const (
		tree = "tree 765d62cc3f03ab0ccc045c6eb8f35690b1cfcb03\n"
		p1   = "parent c92c3a5bec25e8e43cac166c7cd3001b5f94f400\n"
		p2   = "parent 0123456789abcdef0123456789ABCDEF01234567\n"
		auth = "author Dev One <Dev.One@Example.com> 1627113060 +0000\n"
		comm = "committer Dev Two <two@example.com> 1627113060 +0000\n"
		sig  = "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----\n"
		co   = "\n\nCo-authored-by: Pat <PAT@example.com>\n"
	)
	for name, raw := range map[string]string{
		"plain":                 tree + p1 + auth + comm + "\nsubject\n",
		"merge":                 tree + p1 + p2 + auth + comm + "\nMerge" + co,
		"root":                  tree + auth + comm + "\nroot\n",
		"signed":                tree + p1 + auth + comm + sig + "\nsigned" + co,
		"mergetag":              tree + p1 + p2 + auth + comm + "mergetag object 0123\n type commit\n \n body\n" + "\nmerge\n",
		"encoding":              tree + p1 + auth + comm + "encoding ISO-8859-1\n\nlatin\n",
		"no author":             tree + p1 + comm + "\nanonymous\n",
		"author after commit":   tree + p1 + comm + auth + "\nlate author\n",
		"parent after author":   tree + p1 + auth + p2 + comm + "\nstray parent\n",
		"two authors":           tree + auth + "author Other <other@example.com> 1 +0000\n" + comm + "\nx\n",
		"no brackets":           tree + "author nobody 1 +0000\n" + comm + "\nx\n",
		"brackets reversed":     tree + "author a >b< 1 +0000\n" + comm + "\nx\n",
		"nested brackets":       tree + "author a <b <c@x> d> 1 +0000\n" + comm + "\nx\n",
		"no message":            tree + p1 + auth + comm,
		"no blank line":         tree + p1 + auth + strings.TrimSuffix(comm, "\n"),
		"empty message":         tree + p1 + auth + comm + "\n",
		"no newline at the end": tree + strings.TrimSuffix(p1, "\n"),
		"author only":           tree + strings.TrimSuffix(auth, "\n"),
		"message with headers":  tree + auth + comm + "\nauthor Fake <fake@example.com>\n" + co,
		"blank line at once":    tree + "\nmessage right after the tree" + co,
		"bad tree":              "tree 765d62cc\n" + auth + "\nx\n",
		"no tree":               p1 + auth + "\nx\n",
		"bad parent":            tree + "parent nothex0000000000000000000000000000000000\n" + auth + "\nx\n",
		"short parent":          tree + "parent 0123\n" + auth + "\nx\n",
		"empty":                 "",
	} {
		var c object.Commit
		o := &rawObject{t: plumbing.CommitObject, data: []byte(raw)}
		decodeErr := c.Decode(o)
		p := &commitParser{emails: map[string]string{}, coAuthors: testCoAuthors}
		got := p.parse([]byte(raw))
		if decodeErr != nil {
			if got != nil {
				t.Errorf("%s: go-git fails (%v), the parser reads %+v", name, decodeErr, got)
			}
			continue
		}
		if got == nil {
			t.Errorf("%s: go-git decodes it, the parser gives up", name)
			continue
		}
		want := commitAuthorsOf(&c, testCoAuthors)
		if !slices.Equal(got.parents, c.ParentHashes) || !slices.Equal(got.authors, want) {
			t.Errorf("%s: parents %v authors %q, go-git %v %q", name, got.parents, got.authors, c.ParentHashes, want)
		}
	}
}
