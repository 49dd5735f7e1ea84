// Package authorcache keeps, on disk, the set of author and co-author
// addresses reachable from a commit. A commit's history never changes, so
// an entry never goes stale: after one full walk, finding a release's
// first-time contributors only reads the commits since the last cached
// release instead of the whole history.
package authorcache

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/warden-sec/warden/core/atomicfile"
)

// Cache is a directory of sets, one file per commit hash.
type Cache struct {
	dir   string
	index map[string]bool // hashes with a file, read once
}

var hashName = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Open reads the list of cached commits in dir (which may not exist yet).
func Open(dir string) *Cache {
	c := &Cache{dir: dir, index: map[string]bool{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return c
	}
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".txt"); ok && hashName.MatchString(name) {
			c.index[name] = true
		}
	}
	return c
}

// Len is the number of commits with a cached set.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	return len(c.index)
}

// Load returns the set cached for commit, if any. It costs nothing for a
// commit without an entry, so a walk can ask at every commit.
func (c *Cache) Load(commit string) (map[string]bool, bool) {
	if c == nil || !c.index[commit] {
		return nil, false
	}
	data, err := os.ReadFile(filepath.Join(c.dir, commit+".txt"))
	if err != nil {
		return nil, false
	}
	set := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			set[l] = true
		}
	}
	return set, sc.Err() == nil
}

// Store writes the set for commit atomically (mode 0600: addresses are
// personal data). A cache that cannot be written is only a lost speed-up.
func (c *Cache) Store(commit string, set map[string]bool) {
	if c == nil || !hashName.MatchString(commit) {
		return
	}
	list := make([]string, 0, len(set))
	for a := range set {
		if !strings.ContainsAny(a, "\n\r") {
			list = append(list, a)
		}
	}
	sort.Strings(list)
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return
	}
	if err := atomicfile.Write(filepath.Join(c.dir, commit+".txt"), []byte(strings.Join(list, "\n")+"\n"), atomicfile.Options{Mode: 0o600}); err == nil {
		c.index[commit] = true
	}
}
