// Package deps matches the packages of lockfiles and Go binaries against
// the offline OSV database and, optionally, a repository's Dependabot alerts.
package deps

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/warden-sec/warden/scanners/deps/lockfile"
	"github.com/warden-sec/warden/scanners/deps/osv"
)

// Finding is one vulnerability affecting one package of one lockfile.
type Finding struct {
	Package    string   `json:"package"`
	Version    string   `json:"version"`
	Ecosystem  string   `json:"ecosystem"`
	Dependency string   `json:"dependency,omitempty"`
	ID         string   `json:"id"`
	Aliases    []string `json:"aliases,omitempty"`
	Severity   string   `json:"severity"`
	Score      float64  `json:"score,omitempty"`
	Vector     string   `json:"cvssVector,omitempty"`
	Summary    string   `json:"summary,omitempty"`
	Fixed      []string `json:"fixed,omitempty"`
	File       string   `json:"file"`
	Line       int      `json:"line,omitempty"`
	// Source is "osv" for the offline database, "github" for a Dependabot alert.
	Source string `json:"source"`
	URL    string `json:"url,omitempty"`

	level osv.Level
}

// Level is the finding's severity level.
func (f *Finding) Level() osv.Level { return f.level }

// SetLevel sets the level and its name.
func (f *Finding) SetLevel(l osv.Level) { f.level, f.Severity = l, l.String() }

// MissingDatabaseError names the ecosystems that have packages but no database.
type MissingDatabaseError struct{ Ecosystems []string }

func (e *MissingDatabaseError) Error() string {
	return fmt.Sprintf("no vulnerability database for %s", strings.Join(e.Ecosystems, ", "))
}

func (e *MissingDatabaseError) Unwrap() error { return osv.ErrNoDatabase }

// Match checks every package against the database. Each ecosystem's index
// is opened once and each package name looked up once.
func Match(ctx context.Context, db *osv.DB, pkgs []lockfile.Package) ([]Finding, []osv.Info, error) {
	byEco := map[string][]lockfile.Package{}
	for _, p := range pkgs {
		byEco[p.Ecosystem] = append(byEco[p.Ecosystem], p)
	}
	ecos := make([]string, 0, len(byEco))
	for e := range byEco {
		ecos = append(ecos, e)
	}
	sort.Strings(ecos)
	var missing []string
	var infos []osv.Info
	var out []Finding
	for _, e := range ecos {
		ix, err := db.Open(e)
		if errors.Is(err, osv.ErrNoDatabase) {
			missing = append(missing, e)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		infos = append(infos, ix.Info)
		found, err := matchIndex(ctx, ix, e, byEco[e])
		if err != nil {
			ix.Close()
			return nil, nil, err
		}
		out = append(out, found...)
		ix.Close()
	}
	if len(missing) > 0 {
		return out, infos, &MissingDatabaseError{Ecosystems: missing}
	}
	Sort(out)
	return Dedupe(out), infos, nil
}

// matchIndex matches the packages of one ecosystem. Each package name is
// looked up once and each of its versions matched once, whatever the
// number of install paths; names are spread over the CPUs.
func matchIndex(ctx context.Context, ix *osv.Index, eco string, pkgs []lockfile.Package) ([]Finding, error) {
	type job struct {
		name     string
		versions []string
		hits     map[string][]Finding // by version
		err      error
	}
	var jobs []*job
	byName := map[string]*job{}
	for _, p := range pkgs {
		j := byName[p.Name]
		if j == nil {
			j = &job{name: p.Name, hits: map[string][]Finding{}}
			byName[p.Name] = j
			jobs = append(jobs, j)
		}
		if _, ok := j.hits[p.Version]; !ok {
			j.hits[p.Version] = nil
			j.versions = append(j.versions, p.Version)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cache := osv.NewVersions()
			for i := int(next.Add(1) - 1); i < len(jobs) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				j := jobs[i]
				recs, err := ix.Lookup(j.name)
				if err != nil {
					j.err = err
					continue
				}
				for _, v := range j.versions {
					for _, r := range recs {
						if !r.AffectsWith(cache, eco, j.name, v) {
							continue
						}
						rating := r.SeverityFor(eco, j.name)
						f := Finding{Package: j.name, Version: v, Ecosystem: eco, ID: r.ID, Aliases: r.Aliases,
							Score: rating.Score, Vector: rating.Vector, Summary: r.Summary,
							Fixed: r.FixedAfter(eco, j.name, v), Source: "osv"}
						f.SetLevel(rating.Level)
						j.hits[v] = append(j.hits[v], f)
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Finding
	for _, j := range jobs {
		if j.err != nil {
			return nil, j.err
		}
	}
	for _, p := range pkgs {
		for _, f := range byName[p.Name].hits[p.Version] {
			f.Dependency, f.File, f.Line = p.Dependency, p.File, p.Line
			out = append(out, f)
		}
	}
	return out, nil
}

// Sort orders findings by file, line, package and id.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Package != b.Package {
			return a.Package < b.Package
		}
		return a.ID < b.ID
	})
}

// Dedupe drops repeated (file, line, package, version, id) findings.
func Dedupe(fs []Finding) []Finding {
	seen := map[string]bool{}
	out := fs[:0]
	for _, f := range fs {
		k := fmt.Sprintf("%s\x00%d\x00%s\x00%s\x00%s", f.File, f.Line, f.Package, f.Version, f.ID)
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// Ignore drops findings whose id or an alias is in ids, and returns how
// many it dropped.
func Ignore(fs []Finding, ids map[string]bool) ([]Finding, int) {
	if len(ids) == 0 {
		return fs, 0
	}
	out := fs[:0]
	n := 0
	for _, f := range fs {
		drop := ids[f.ID]
		for _, a := range f.Aliases {
			drop = drop || ids[a]
		}
		if drop {
			n++
			continue
		}
		out = append(out, f)
	}
	return out, n
}

// Gate counts the findings at or above the threshold. With any set, every
// finding counts, whatever its severity (unknown included).
func Gate(fs []Finding, threshold osv.Level, any bool) int {
	n := 0
	for _, f := range fs {
		if any || (f.level != osv.Unknown && f.level >= threshold) {
			n++
		}
	}
	return n
}
