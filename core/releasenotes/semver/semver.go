// Package semver reads release tags: a Semantic Versioning 2.0.0 version
// found in a tag name by a pattern (so monorepo tags such as api/v1.2.3 can
// be told apart from web/v1.2.3), and the precedence between versions.
package semver

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a parsed semantic version.
type Version struct {
	Major, Minor, Patch uint64
	Pre                 []string // dot-separated pre-release identifiers
	Build               string
}

var re = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// Parse reads a version such as 1.2.3-rc.1+build.5 (no leading v).
func Parse(s string) (Version, bool) {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return Version{}, false
	}
	var v Version
	var err error
	for i, p := range []*uint64{&v.Major, &v.Minor, &v.Patch} {
		if *p, err = strconv.ParseUint(m[i+1], 10, 64); err != nil {
			return Version{}, false
		}
	}
	if m[4] != "" {
		v.Pre = strings.Split(m[4], ".")
	}
	v.Build = m[5]
	return v, true
}

// Prerelease reports whether v is a pre-release (1.2.0-rc.1).
func (v Version) Prerelease() bool { return len(v.Pre) > 0 }

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if len(v.Pre) > 0 {
		s += "-" + strings.Join(v.Pre, ".")
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// Compare returns -1, 0 or +1 by semver precedence (build metadata ignored).
func Compare(a, b Version) int {
	for _, d := range [][2]uint64{{a.Major, b.Major}, {a.Minor, b.Minor}, {a.Patch, b.Patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a.Pre) == 0 && len(b.Pre) == 0:
		return 0
	case len(a.Pre) == 0:
		return 1
	case len(b.Pre) == 0:
		return -1
	}
	for i := 0; i < len(a.Pre) && i < len(b.Pre); i++ {
		if c := compareIdent(a.Pre[i], b.Pre[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(a.Pre) < len(b.Pre):
		return -1
	case len(a.Pre) > len(b.Pre):
		return 1
	}
	return 0
}

func compareIdent(a, b string) int {
	an, aErr := strconv.ParseUint(a, 10, 64)
	bn, bErr := strconv.ParseUint(b, 10, 64)
	switch {
	case aErr == nil && bErr == nil:
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return 0
	case aErr == nil:
		return -1 // numeric identifiers sort before alphanumeric ones
	case bErr == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// DefaultPattern matches plain release tags: 1.2.3 or v1.2.3.
const DefaultPattern = `^v?(\d+\.\d+\.\d+\S*)$`

// Pattern selects release tags and finds the version in their names.
type Pattern struct {
	re *regexp.Regexp
}

// NewPattern compiles a regular expression over tag names. Its first
// capture group is the version; without a group, the whole match less a
// leading "v" is. Tags whose version is not semver are not releases.
func NewPattern(expr string) (*Pattern, error) {
	if expr == "" {
		expr = DefaultPattern
	}
	r, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("tag pattern %q: %w", expr, err)
	}
	if r.NumSubexp() > 1 && r.SubexpIndex("version") < 0 {
		return nil, fmt.Errorf("tag pattern %q: use one capture group for the version, or name it (?P<version>…)", expr)
	}
	return &Pattern{re: r}, nil
}

// Match returns the version a tag name carries, if it is a release tag.
func (p *Pattern) Match(tag string) (Version, bool) {
	m := p.re.FindStringSubmatch(tag)
	if m == nil {
		return Version{}, false
	}
	s := m[0]
	if i := p.re.SubexpIndex("version"); i > 0 {
		s = m[i]
	} else if len(m) > 1 {
		s = m[1]
	}
	return Parse(strings.TrimPrefix(s, "v"))
}

func (p *Pattern) String() string { return p.re.String() }
