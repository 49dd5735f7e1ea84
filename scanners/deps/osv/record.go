// Package osv reads OSV vulnerability records, keeps them in an offline
// database indexed by (ecosystem, package), and matches packages against
// them following the OSV schema.
package osv

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Record is the part of an OSV record Warden keeps.
type Record struct {
	ID        string     `json:"id"`
	Modified  time.Time  `json:"modified"`
	Withdrawn *time.Time `json:"withdrawn,omitempty"`
	Aliases   []string   `json:"aliases,omitempty"`
	Summary   string     `json:"summary,omitempty"`
	Details   string     `json:"details,omitempty"`
	Severity  []Severity `json:"severity,omitempty"`
	Affected  []Affected `json:"affected,omitempty"`
	// DatabaseSpecific keeps only "severity" (GitHub's LOW … CRITICAL).
	DatabaseSpecific *DatabaseSpecific `json:"database_specific,omitempty"`
}

// Severity is a scored severity: type CVSS_V2, CVSS_V3, CVSS_V4 or Ubuntu.
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// DatabaseSpecific is the severity some databases give in their own terms.
type DatabaseSpecific struct {
	Severity string `json:"severity,omitempty"`
}

// Affected is one affected package with its ranges and versions.
type Affected struct {
	Package          PackageRef        `json:"package"`
	Severity         []Severity        `json:"severity,omitempty"`
	Ranges           []Range           `json:"ranges,omitempty"`
	Versions         []string          `json:"versions,omitempty"`
	DatabaseSpecific *DatabaseSpecific `json:"database_specific,omitempty"`
}

// PackageRef names a package.
type PackageRef struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Purl      string `json:"purl,omitempty"`
}

// Range types.
const (
	RangeSemver    = "SEMVER"
	RangeEcosystem = "ECOSYSTEM"
	RangeGit       = "GIT"
)

// Range is a list of events over one version ordering.
type Range struct {
	Type   string  `json:"type"`
	Repo   string  `json:"repo,omitempty"`
	Events []Event `json:"events"`
}

// Event is one boundary; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// InvalidRecordError names what is wrong with a record and where it came from.
type InvalidRecordError struct {
	Source string // file or zip member
	ID     string
	Reason string
}

func (e *InvalidRecordError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("%s: record %s: %s", e.Source, e.ID, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Source, e.Reason)
}

// ParseRecord decodes and validates one OSV JSON record.
func ParseRecord(source string, data []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, &InvalidRecordError{Source: source, Reason: fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, err)}
		}
		return nil, &InvalidRecordError{Source: source, Reason: err.Error()}
	}
	if err := r.validate(); err != nil {
		return nil, &InvalidRecordError{Source: source, ID: r.ID, Reason: err.Error()}
	}
	r.trim()
	return &r, nil
}

func (r *Record) validate() error {
	if r.ID == "" {
		return errors.New("no id")
	}
	if r.Modified.IsZero() {
		return errors.New("no modified time")
	}
	for i, a := range r.Affected {
		if a.Package.Ecosystem == "" || a.Package.Name == "" {
			if len(a.Ranges) > 0 && allGit(a.Ranges) {
				continue // a repository-only entry
			}
			return fmt.Errorf("affected[%d]: package needs an ecosystem and a name", i)
		}
		for j, rg := range a.Ranges {
			switch rg.Type {
			case RangeSemver, RangeEcosystem, RangeGit:
			default:
				return fmt.Errorf("affected[%d].ranges[%d]: unknown type %q", i, j, rg.Type)
			}
			if len(rg.Events) == 0 {
				return fmt.Errorf("affected[%d].ranges[%d]: no events", i, j)
			}
			intro := false
			for k, e := range rg.Events {
				set := 0
				for _, s := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
					if s != "" {
						set++
					}
				}
				if set != 1 {
					return fmt.Errorf("affected[%d].ranges[%d].events[%d]: needs exactly one of introduced, fixed, last_affected, limit", i, j, k)
				}
				intro = intro || e.Introduced != ""
			}
			if !intro {
				return fmt.Errorf("affected[%d].ranges[%d]: no introduced event", i, j)
			}
		}
	}
	return nil
}

func allGit(rs []Range) bool {
	for _, r := range rs {
		if r.Type != RangeGit {
			return false
		}
	}
	return true
}

// trim drops what matching and reports never read, to keep the index small.
func (r *Record) trim() {
	if r.Summary == "" && r.Details != "" {
		r.Summary = firstLine(r.Details)
	}
	r.Details = ""
	if len(r.Summary) > 300 {
		r.Summary = r.Summary[:300]
	}
	if r.DatabaseSpecific != nil && r.DatabaseSpecific.Severity == "" {
		r.DatabaseSpecific = nil
	}
	for i := range r.Affected {
		a := &r.Affected[i]
		a.Package.Purl = ""
		if a.DatabaseSpecific != nil && a.DatabaseSpecific.Severity == "" {
			a.DatabaseSpecific = nil
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// BaseEcosystem strips a release suffix: "Debian:12" is "Debian".
func BaseEcosystem(e string) string {
	b, _, _ := strings.Cut(e, ":")
	return b
}
