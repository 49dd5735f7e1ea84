package osv

import (
	"sort"
	"strings"

	"github.com/google/osv-scalibr/semantic"

	"github.com/warden-sec/warden/internal/lazyre"
)

// NormalizeName gives the form package names are indexed and compared in:
// PyPI names by PEP 503, others unchanged.
func NormalizeName(ecosystem, name string) string {
	if BaseEcosystem(ecosystem) == "PyPI" {
		return strings.ToLower(pypiSeparators.ReplaceAllString(name, "-"))
	}
	return name
}

var pypiSeparators = lazyre.New(`[-_.]+`)

// Affects reports whether the record affects the package at version,
// following the OSV schema: the version is listed in versions[], or falls
// in one of the SEMVER or ECOSYSTEM ranges of an affected entry for the
// package. GIT ranges describe commits and are skipped for packages named
// by a registry, without stopping the evaluation of the other ranges.
// Withdrawn records affect nothing.
func (r *Record) Affects(ecosystem, name, version string) bool {
	return r.AffectsWith(nil, ecosystem, name, version)
}

// AffectsWith is Affects with parsed versions kept in c (nil keeps none).
func (r *Record) AffectsWith(c *Versions, ecosystem, name, version string) bool {
	if r.Withdrawn != nil {
		return false
	}
	for i := range r.Affected {
		if r.Affected[i].affects(c, ecosystem, name, version) {
			return true
		}
	}
	return false
}

// AffectedFor returns the affected entries naming the package.
func (r *Record) AffectedFor(ecosystem, name string) []*Affected {
	var out []*Affected
	for i := range r.Affected {
		a := &r.Affected[i]
		if BaseEcosystem(a.Package.Ecosystem) == BaseEcosystem(ecosystem) && NormalizeName(ecosystem, a.Package.Name) == NormalizeName(ecosystem, name) {
			out = append(out, a)
		}
	}
	return out
}

// Versions keeps parsed versions, so checking many versions of a package
// against the same range boundaries parses each boundary once. It is not
// safe for concurrent use.
type Versions struct {
	m map[versionKey]semantic.Version
}

type versionKey struct{ kind, ecosystem, s string }

// NewVersions returns an empty cache.
func NewVersions() *Versions { return &Versions{m: map[versionKey]semantic.Version{}} }

// parse reads s as a SEMVER or ECOSYSTEM version; nil when it cannot.
func (c *Versions) parse(kind, ecosystem, s string) semantic.Version {
	k := versionKey{kind, ecosystem, s}
	if c != nil {
		if v, ok := c.m[k]; ok {
			return v
		}
	}
	var v semantic.Version
	if kind == RangeSemver {
		v = semantic.ParseSemverVersion(strings.TrimPrefix(s, "v"))
	} else if pv, err := semantic.Parse(s, ecosystem); err == nil {
		v = pv
	}
	if c != nil {
		c.m[k] = v
	}
	return v
}

func (a *Affected) affects(c *Versions, ecosystem, name, version string) bool {
	if BaseEcosystem(a.Package.Ecosystem) != BaseEcosystem(ecosystem) || NormalizeName(ecosystem, a.Package.Name) != NormalizeName(ecosystem, name) {
		return false
	}
	for _, v := range a.Versions {
		if v == version {
			return true
		}
	}
	eco := BaseEcosystem(ecosystem)
	for _, rg := range a.Ranges {
		if rg.Type != RangeEcosystem && rg.Type != RangeSemver {
			continue // GIT: commits, not versions
		}
		v := c.parse(rg.Type, eco, version)
		if v == nil {
			continue
		}
		if inRange(c, v, rg, eco) {
			return true
		}
	}
	return false
}

type sortedEvent struct {
	Event
	at semantic.Version // nil for introduced "0"
}

// inRange evaluates one range: events sorted by version (introduced "0"
// first), then introduced opens, fixed closes at its version, last_affected
// closes after its version; with limit events the version must also be
// below one of the limits.
func inRange(c *Versions, v semantic.Version, rg Range, ecosystem string) bool {
	parse := func(s string) (semantic.Version, bool) {
		pv := c.parse(rg.Type, ecosystem, s)
		return pv, pv != nil
	}
	events := make([]sortedEvent, 0, len(rg.Events))
	var limits []semantic.Version
	for _, e := range rg.Events {
		s := e.Introduced + e.Fixed + e.LastAffected + e.Limit
		if e.Introduced == "0" {
			events = append(events, sortedEvent{Event: e})
			continue
		}
		if e.Limit == "*" {
			continue // no limit
		}
		pv, ok := parse(s)
		if !ok {
			return false // an unreadable boundary: cannot evaluate this range
		}
		if e.Limit != "" {
			limits = append(limits, pv)
			continue
		}
		events = append(events, sortedEvent{Event: e, at: pv})
	}
	if len(limits) > 0 {
		below := false
		for _, l := range limits {
			if c, err := v.Compare(l); err == nil && c < 0 {
				below = true
				break
			}
		}
		if !below {
			return false
		}
	}
	sort.SliceStable(events, func(i, j int) bool {
		a, b := events[i].at, events[j].at
		if a == nil || b == nil {
			return a == nil && b != nil
		}
		c, err := a.Compare(b)
		return err == nil && c < 0
	})
	affected := false
	for _, e := range events {
		var c int
		if e.at != nil {
			var err error
			if c, err = v.Compare(e.at); err != nil {
				return false
			}
		}
		switch {
		case e.Introduced != "":
			if e.at == nil || c >= 0 {
				affected = true
			}
		case e.Fixed != "":
			if c >= 0 {
				affected = false
			}
		case e.LastAffected != "":
			if c > 0 {
				affected = false
			}
		}
	}
	return affected
}

// FixedVersions lists the fixed events of the package's ranges, in order.
func (r *Record) FixedVersions(ecosystem, name string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range r.AffectedFor(ecosystem, name) {
		for _, rg := range a.Ranges {
			if rg.Type == RangeGit {
				continue
			}
			for _, e := range rg.Events {
				if e.Fixed != "" && !seen[e.Fixed] {
					seen[e.Fixed] = true
					out = append(out, e.Fixed)
				}
			}
		}
	}
	return out
}

// FixedAfter lists the fixed versions above version: the upgrades that
// leave the affected range the package is in. When version cannot be
// parsed, every fixed version is listed.
func (r *Record) FixedAfter(ecosystem, name, version string) []string {
	all := r.FixedVersions(ecosystem, name)
	v, err := semantic.Parse(version, BaseEcosystem(ecosystem))
	if err != nil {
		return all
	}
	var out []string
	for _, f := range all {
		if c, err := v.CompareStr(f); err != nil || c < 0 {
			out = append(out, f)
		}
	}
	return out
}
