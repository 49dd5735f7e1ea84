// Package gitfixture builds real git repositories for tests with go-git,
// from a small line-based script, so that Go tests and testscript files
// describe histories the same way. Objects are written straight into the
// repository's object store: no git binary and no worktree are needed, and
// the same script always gives the same hashes.
//
// Script lines (blank lines and lines starting with # are ignored):
//
//	author NAME <EMAIL>          author (and committer) of the next commits
//	commit [-m MARK] [-f PATH] MESSAGE
//	                             a commit changing PATH (default file.txt);
//	                             \n in MESSAGE is a newline, ${MARK} the hash
//	                             of a marked commit
//	tag NAME                     a lightweight tag on HEAD
//	atag NAME                    an annotated tag on HEAD
//	branch NAME                  create branch NAME at HEAD and switch to it
//	switch NAME                  switch to branch NAME
//	merge NAME MESSAGE           merge branch NAME into the current branch
//	shallow DEPTH                turn the repository into a shallow clone
//	                             of DEPTH commits, as `git clone --depth`
//	                             (tags whose commits are cut off go away)
//	repack [ref-deltas|commit-deltas]
//	                             move every object a ref reaches into one
//	                             pack file, as `git gc` does, with objects
//	                             stored as deltas of similar ones (by offset,
//	                             or with ref-deltas by name); objects written
//	                             later are loose again. commit-deltas packs
//	                             every loose object with a writer of this
//	                             package that stores each commit as a delta
//	                             of the one before (by offset and by name in
//	                             turn) and puts one offset in the index's
//	                             table of large offsets, as git may
//	delete-branch NAME           delete branch NAME; its commits stay in the
//	                             object store, reachable from nothing
package gitfixture

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
)

// Epoch is the date of the first commit; each next commit is a minute later.
var Epoch = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// Build creates a repository in dir (created if needed) from script and
// returns the marked commits' hashes.
func Build(dir, script string) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r, err := git.PlainInit(dir, false)
	if err != nil {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	b := &builder{r: r, s: r.Storer, dir: dir, marks: map[string]string{},
		files: map[string]map[string]string{"main": {}}, branch: "main",
		author: object.Signature{Name: "Test Author", Email: "author@example.com"}}
	if err := r.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, "refs/heads/main")); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(strings.NewReader(script))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := b.do(line); err != nil {
			return nil, fmt.Errorf("script line %d: %s: %w", n, line, err)
		}
	}
	return b.marks, nil
}

type builder struct {
	r      *git.Repository
	s      storage.Storer
	dir    string
	marks  map[string]string
	files  map[string]map[string]string // branch -> path -> content
	branch string
	author object.Signature
	n      int
}

func (b *builder) head() (plumbing.Hash, bool) {
	ref, err := b.s.Reference(plumbing.NewBranchReferenceName(b.branch))
	if err != nil {
		return plumbing.ZeroHash, false
	}
	return ref.Hash(), true
}

func (b *builder) do(line string) error {
	verb, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch verb {
	case "author":
		i := strings.Index(rest, "<")
		if i < 0 || !strings.HasSuffix(rest, ">") {
			return fmt.Errorf("want NAME <EMAIL>")
		}
		b.author = object.Signature{Name: strings.TrimSpace(rest[:i]), Email: rest[i+1 : len(rest)-1]}
	case "commit":
		mark, path := "", "file.txt"
		for {
			switch {
			case strings.HasPrefix(rest, "-m "):
				f := strings.Fields(rest)
				mark, rest = f[1], strings.TrimSpace(strings.TrimPrefix(rest[3:], f[1]))
				continue
			case strings.HasPrefix(rest, "-f "):
				f := strings.Fields(rest)
				path, rest = f[1], strings.TrimSpace(strings.TrimPrefix(rest[3:], f[1]))
				continue
			}
			break
		}
		msg := b.expand(rest)
		files := b.files[b.branch]
		files[path] = files[path] + msg + "\n"
		var parents []plumbing.Hash
		if h, ok := b.head(); ok {
			parents = append(parents, h)
		}
		h, err := b.commit(msg, files, parents)
		if err != nil {
			return err
		}
		if mark != "" {
			b.marks[mark] = h.String()
		}
	case "tag", "atag":
		h, ok := b.head()
		if !ok {
			return fmt.Errorf("no commit to tag")
		}
		target := h
		if verb == "atag" {
			t := &object.Tag{Name: rest, Tagger: b.sig(), Message: "Release " + rest + "\n", TargetType: plumbing.CommitObject, Target: h}
			obj := b.s.NewEncodedObject()
			if err := t.Encode(obj); err != nil {
				return err
			}
			var err error
			if target, err = b.s.SetEncodedObject(obj); err != nil {
				return err
			}
		}
		return b.s.SetReference(plumbing.NewHashReference(plumbing.NewTagReferenceName(rest), target))
	case "branch":
		h, ok := b.head()
		if !ok {
			return fmt.Errorf("no commit to branch from")
		}
		if err := b.s.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(rest), h)); err != nil {
			return err
		}
		b.files[rest] = copyFiles(b.files[b.branch])
		return b.switchTo(rest)
	case "switch":
		if _, ok := b.files[rest]; !ok {
			return fmt.Errorf("no branch %s", rest)
		}
		return b.switchTo(rest)
	case "merge":
		name, msg, _ := strings.Cut(rest, " ")
		other, err := b.s.Reference(plumbing.NewBranchReferenceName(name))
		if err != nil {
			return fmt.Errorf("no branch %s", name)
		}
		h, _ := b.head()
		files := b.files[b.branch]
		// Files only grow by appending, so the longer side of a file
		// that one side did not touch is the merged content; when both
		// sides changed it, both changes are kept.
		for p, c := range b.files[name] {
			switch mine := files[p]; {
			case mine == c, strings.HasPrefix(mine, c):
			case strings.HasPrefix(c, mine):
				files[p] = c
			default:
				files[p] = mine + c
			}
		}
		_, err = b.commit(b.expand(msg), files, []plumbing.Hash{h, other.Hash()})
		return err
	case "repack":
		switch rest {
		case "", "ref-deltas":
			return b.r.RepackObjects(&git.RepackConfig{UseRefDeltas: rest == "ref-deltas"})
		case "commit-deltas":
			return b.packLoose()
		}
		return fmt.Errorf("want repack, repack ref-deltas or repack commit-deltas")
	case "delete-branch":
		if _, ok := b.files[rest]; !ok {
			return fmt.Errorf("no branch %s", rest)
		}
		if rest == b.branch {
			return fmt.Errorf("cannot delete the current branch")
		}
		delete(b.files, rest)
		return b.s.RemoveReference(plumbing.NewBranchReferenceName(rest))
	case "shallow":
		depth, err := strconv.Atoi(rest)
		if err != nil || depth < 1 {
			return fmt.Errorf("want a depth of at least 1")
		}
		return b.shallow(depth)
	default:
		return fmt.Errorf("unknown verb %q", verb)
	}
	return nil
}

func (b *builder) switchTo(name string) error {
	b.branch = name
	return b.s.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(name)))
}

func (b *builder) expand(s string) string {
	s = strings.ReplaceAll(s, `\n`, "\n")
	return os.Expand(s, func(k string) string {
		if h, ok := b.marks[k]; ok {
			return h
		}
		return "${" + k + "}"
	})
}

func (b *builder) sig() object.Signature {
	s := b.author
	s.When = Epoch.Add(time.Duration(b.n) * time.Minute)
	return s
}

func (b *builder) commit(msg string, files map[string]string, parents []plumbing.Hash) (plumbing.Hash, error) {
	tree, err := b.writeTree(files, "")
	if err != nil {
		return plumbing.ZeroHash, err
	}
	b.n++
	sig := b.sig()
	c := &object.Commit{Author: sig, Committer: sig, Message: msg + "\n", TreeHash: tree, ParentHashes: parents}
	obj := b.s.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := b.s.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return h, b.s.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(b.branch), h))
}

// writeTree writes the tree of the files under prefix.
func (b *builder) writeTree(files map[string]string, prefix string) (plumbing.Hash, error) {
	dirs := map[string]bool{}
	var entries []object.TreeEntry
	for p, content := range files {
		rel, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		if d, _, nested := strings.Cut(rel, "/"); nested {
			dirs[d] = true
			continue
		}
		obj := b.s.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		w, _ := obj.Writer()
		_, _ = w.Write([]byte(content))
		_ = w.Close()
		h, err := b.s.SetEncodedObject(obj)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: rel, Mode: filemode.Regular, Hash: h})
	}
	for d := range dirs {
		h, err := b.writeTree(files, prefix+d+"/")
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: d, Mode: filemode.Dir, Hash: h})
	}
	// git sorts entries by name, directories as if they ended in "/".
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
	t := &object.Tree{Entries: entries}
	obj := b.s.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return b.s.SetEncodedObject(obj)
}

// shallow keeps the commits within depth of HEAD (breadth first, as git
// clone --depth counts), records the boundary in .git/shallow, and deletes
// every other object, so the repository looks like a fresh shallow clone.
func (b *builder) shallow(depth int) error {
	head, ok := b.head()
	if !ok {
		return fmt.Errorf("no commits")
	}
	keep := map[plumbing.Hash]bool{}
	var boundary []plumbing.Hash
	level := []plumbing.Hash{head}
	keep[head] = true
	for d := 1; len(level) > 0; d++ {
		var next []plumbing.Hash
		for _, h := range level {
			c, err := object.GetCommit(b.s, h)
			if err != nil {
				return err
			}
			if err := b.keepTree(c.TreeHash, keep); err != nil {
				return err
			}
			if d == depth {
				if len(c.ParentHashes) > 0 {
					boundary = append(boundary, h)
				}
				continue
			}
			for _, p := range c.ParentHashes {
				if !keep[p] {
					keep[p] = true
					next = append(next, p)
				}
			}
		}
		level = next
	}
	// Annotated tags on kept commits stay, like the tags a clone follows.
	refs, err := b.s.IterReferences()
	if err != nil {
		return err
	}
	var drop []plumbing.ReferenceName
	_ = refs.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference {
			return nil
		}
		h := ref.Hash()
		if t, err := object.GetTag(b.s, h); err == nil {
			if keep[t.Target] {
				keep[h] = true
				return nil
			}
		}
		if !keep[h] {
			drop = append(drop, ref.Name())
		}
		return nil
	})
	for _, n := range drop {
		if err := b.s.RemoveReference(n); err != nil {
			return err
		}
	}
	if err := b.s.SetShallow(boundary); err != nil {
		return err
	}
	// Remove the objects beyond the boundary.
	dir := filepath.Join(b.dir, ".git", "objects")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, d := range entries {
		if len(d.Name()) != 2 || !d.IsDir() {
			continue
		}
		objs, err := os.ReadDir(filepath.Join(dir, d.Name()))
		if err != nil {
			return err
		}
		for _, o := range objs {
			if !keep[plumbing.NewHash(d.Name()+o.Name())] {
				if err := os.Remove(filepath.Join(dir, d.Name(), o.Name())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (b *builder) keepTree(h plumbing.Hash, keep map[plumbing.Hash]bool) error {
	if keep[h] {
		return nil
	}
	keep[h] = true
	t, err := object.GetTree(b.s, h)
	if err != nil {
		return err
	}
	for _, e := range t.Entries {
		if e.Mode == filemode.Dir {
			if err := b.keepTree(e.Hash, keep); err != nil {
				return err
			}
		} else {
			keep[e.Hash] = true
		}
	}
	return nil
}

func copyFiles(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
