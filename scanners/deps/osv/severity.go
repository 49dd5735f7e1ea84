package osv

import (
	"math"
	"strconv"
	"strings"
)

// Level is a severity rating, ordered.
type Level int

// Severity levels; Unknown sorts below Low.
const (
	Unknown Level = iota
	Low
	Medium
	High
	Critical
)

var levelNames = []string{"unknown", "low", "medium", "high", "critical"}

func (l Level) String() string { return levelNames[l] }

// ParseLevel reads "low", "medium" (or "moderate"), "high", "critical".
func ParseLevel(s string) (Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "low":
		return Low, true
	case "medium", "moderate":
		return Medium, true
	case "high":
		return High, true
	case "critical":
		return Critical, true
	}
	return Unknown, false
}

// Rating is a record's severity for one package: the level, the score when
// a CVSS vector gave one, and where it came from.
type Rating struct {
	Level  Level
	Score  float64 // 0 when not from a CVSS vector
	Source string  // "CVSS_V3", "CVSS_V2", "database", or ""
	Vector string
}

// SeverityFor rates the record for the package: a CVSS v3 vector (of the
// affected entry, else the record), else the database's own rating, else a
// CVSS v2 vector. CVSS v4 vectors are not scored; records that carry only
// v4 normally also carry the database rating.
func (r *Record) SeverityFor(ecosystem, name string) Rating {
	var sev []Severity
	var db []string
	for _, a := range r.AffectedFor(ecosystem, name) {
		sev = append(sev, a.Severity...)
		if a.DatabaseSpecific != nil {
			db = append(db, a.DatabaseSpecific.Severity)
		}
	}
	sev = append(sev, r.Severity...)
	if r.DatabaseSpecific != nil {
		db = append(db, r.DatabaseSpecific.Severity)
	}
	for _, s := range sev {
		if s.Type == "CVSS_V3" {
			if score, ok := CVSS3Score(s.Score); ok {
				return Rating{Level: cvss3Level(score), Score: score, Source: "CVSS_V3", Vector: s.Score}
			}
		}
	}
	for _, d := range db {
		if l, ok := ParseLevel(d); ok {
			return Rating{Level: l, Source: "database"}
		}
	}
	for _, s := range sev {
		if s.Type == "CVSS_V2" {
			if score, ok := CVSS2Score(s.Score); ok {
				l := Low
				switch {
				case score >= 7:
					l = High
				case score >= 4:
					l = Medium
				}
				return Rating{Level: l, Score: score, Source: "CVSS_V2", Vector: s.Score}
			}
		}
	}
	return Rating{}
}

func cvss3Level(s float64) Level {
	switch {
	case s >= 9:
		return Critical
	case s >= 7:
		return High
	case s >= 4:
		return Medium
	case s > 0:
		return Low
	}
	return Unknown
}

func vectorMetrics(vec string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(vec, "/") {
		if k, v, ok := strings.Cut(part, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// CVSS3Score computes the base score of a CVSS v3.0 or v3.1 vector.
func CVSS3Score(vec string) (float64, bool) {
	if !strings.HasPrefix(vec, "CVSS:3.") {
		return 0, false
	}
	m := vectorMetrics(vec)
	av := map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}[m["AV"]]
	ac := map[string]float64{"L": 0.77, "H": 0.44}[m["AC"]]
	ui := map[string]float64{"N": 0.85, "R": 0.62}[m["UI"]]
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	scope := m["S"]
	var pr float64
	switch m["PR"] {
	case "N":
		pr = 0.85
	case "L":
		pr = 0.62
		if scope == "C" {
			pr = 0.68
		}
	case "H":
		pr = 0.27
		if scope == "C" {
			pr = 0.5
		}
	}
	c, okC := cia[m["C"]]
	i, okI := cia[m["I"]]
	a, okA := cia[m["A"]]
	if av == 0 || ac == 0 || ui == 0 || pr == 0 || !okC || !okI || !okA || (scope != "U" && scope != "C") {
		return 0, false
	}
	iss := 1 - (1-c)*(1-i)*(1-a)
	var impact float64
	if scope == "U" {
		impact = 6.42 * iss
	} else {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	}
	expl := 8.22 * av * ac * pr * ui
	if impact <= 0 {
		return 0, true
	}
	if scope == "U" {
		return roundup(math.Min(impact+expl, 10)), true
	}
	return roundup(math.Min(1.08*(impact+expl), 10)), true
}

// roundup is CVSS v3.1's Roundup: the smallest one-decimal number at or
// above x, computed on integers to avoid floating-point surprises.
func roundup(x float64) float64 {
	n := int64(math.Round(x * 100000))
	if n%10000 == 0 {
		return float64(n) / 100000
	}
	return (math.Floor(float64(n)/10000) + 1) / 10
}

// CVSS2Score computes the base score of a CVSS v2 vector.
func CVSS2Score(vec string) (float64, bool) {
	m := vectorMetrics(strings.TrimPrefix(strings.Trim(vec, "()"), "CVSS:2.0/"))
	av := map[string]float64{"L": 0.395, "A": 0.646, "N": 1.0}[m["AV"]]
	ac := map[string]float64{"H": 0.35, "M": 0.61, "L": 0.71}[m["AC"]]
	au := map[string]float64{"M": 0.45, "S": 0.56, "N": 0.704}[m["Au"]]
	cia := map[string]float64{"N": 0, "P": 0.275, "C": 0.660}
	c, okC := cia[m["C"]]
	i, okI := cia[m["I"]]
	a, okA := cia[m["A"]]
	if av == 0 || ac == 0 || au == 0 || !okC || !okI || !okA {
		return 0, false
	}
	impact := 10.41 * (1 - (1-c)*(1-i)*(1-a))
	expl := 20 * av * ac * au
	f := 1.176
	if impact == 0 {
		f = 0
	}
	score := ((0.6 * impact) + (0.4 * expl) - 1.5) * f
	s, _ := strconv.ParseFloat(strconv.FormatFloat(math.Round(score*10)/10, 'f', 1, 64), 64)
	return s, true
}
