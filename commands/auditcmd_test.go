package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/warden-sec/warden/scanners/audit"
	"github.com/warden-sec/warden/scanners/audit/audittest"
)

// renderFixture audits a fixture and renders it in format, with the
// fixture's directory as the working directory (SARIF URIs are relative
// to it) and written as $ROOT, the Go version as goX.Y.Z.
func renderFixture(t *testing.T, f *audittest.Fixture, format string, o *auditOptions) string {
	t.Helper()
	t.Chdir(f.Root)
	rep, err := audit.Run(context.Background(), f.Options)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	w := &wiring{env: testEnv(&out, &errOut)}
	w.env.Build.Version = "v1.2.3"
	doc := newAuditOutput(rep, f.Options, nil, o)
	if err := w.renderAudit(format, &doc); err != nil {
		t.Fatal(err)
	}
	if errOut.Len() > 0 {
		t.Errorf("%s: stderr %q, want nothing", format, errOut.String())
	}
	s := out.String()
	if exe, err := os.Executable(); err == nil {
		s = strings.ReplaceAll(s, exe, "$BINARY")
	}
	s = strings.ReplaceAll(s, f.Root, "$ROOT")
	s = strings.ReplaceAll(s, strings.TrimPrefix(runtime.Version(), "go"), "X.Y.Z")
	if format == "table" || format == "markdown" {
		// Column widths follow the length of the fixture's temporary
		// directory, which varies from run to run.
		s = columnPadding.ReplaceAllString(s, "  ")
	}
	return s
}

var columnPadding = regexp.MustCompile(` {2,}`)

var noGate = &auditOptions{failUnder: -1}

// The formatters' output for the fixture gallery, compared with golden
// files (go test ./commands -run TestAuditGolden -update rewrites them).
func TestAuditGolden(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes")
	}
	for _, fx := range []struct {
		name  string
		build func(testing.TB) *audittest.Fixture
	}{{"insecure", audittest.Insecure}, {"hardened", audittest.Hardened}} {
		for _, c := range []struct{ format, ext string }{{"table", "txt"}, {"json", "json"}, {"sarif", "sarif"}, {"markdown", "md"}} {
			t.Run(fx.name+"/"+c.format, func(t *testing.T) {
				got := renderFixture(t, fx.build(t), c.format, noGate)
				path := filepath.Join(pkgDir, "testdata", "audit", fx.name+"."+c.ext)
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (create it with -update)", err)
				}
				if got != string(want) {
					t.Errorf("output differs from %s (-update rewrites it):\n%s", path, got)
				}
			})
		}
	}
}

// The SARIF output validates against the SARIF 2.1.0 JSON schema
// (sarif-2.1.0-rtm.5.json, as published by OASIS and shipped in
// @microsoft/jest-sarif) and carries what GitHub code scanning reads.
func TestAuditSARIFSchema(t *testing.T) {
	schemaFile := filepath.Join(pkgDir, "testdata", "audit", "sarif-2.1.0-rtm.5.json")
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, build := range []func(testing.TB) *audittest.Fixture{audittest.Insecure, audittest.Hardened} {
		f := build(t)
		doc := renderFixture(t, f, "sarif", noGate)
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Fatalf("SARIF does not validate: %v\n%s", err, doc)
		}
		// The schema does catch mistakes: a level SARIF does not know.
		bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(strings.Replace(doc, `"level": "`, `"level": "severe-`, 1)))
		if strings.Contains(doc, `"level": "`) && sch.Validate(bad) == nil {
			t.Error("the schema accepted an unknown result level")
		}
		var log struct {
			Runs []struct {
				Tool struct {
					Driver struct {
						Rules []struct {
							ID               string            `json:"id"`
							ShortDescription map[string]string `json:"shortDescription"`
							FullDescription  map[string]string `json:"fullDescription"`
							Help             map[string]string `json:"help"`
							Properties       map[string]any    `json:"properties"`
						} `json:"rules"`
					} `json:"driver"`
				} `json:"tool"`
				Results []struct {
					RuleID              string            `json:"ruleId"`
					Level               string            `json:"level"`
					PartialFingerprints map[string]string `json:"partialFingerprints"`
					Suppressions        []any             `json:"suppressions"`
					Locations           []struct {
						PhysicalLocation struct {
							ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
							Region           struct{ StartLine int } `json:"region"`
						} `json:"physicalLocation"`
					} `json:"locations"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(doc), &log); err != nil {
			t.Fatal(err)
		}
		run := log.Runs[0]
		if len(run.Results) == 0 {
			t.Fatal("no results")
		}
		for _, r := range run.Tool.Driver.Rules {
			if r.ShortDescription["text"] == "" || r.FullDescription["text"] == "" || r.Help["text"] == "" || len(r.FullDescription["text"]) > 1000 {
				t.Errorf("rule %s lacks descriptions or help", r.ID)
			}
			sev, _ := r.Properties["security-severity"].(string)
			if c, _ := audit.Lookup(r.ID); c.Severity == audit.Critical && sev != "9.5" {
				t.Errorf("critical rule %s has security-severity %q", r.ID, sev)
			}
		}
		for _, r := range run.Results {
			loc := r.Locations[0].PhysicalLocation
			if loc.ArtifactLocation.URI != "warden.yaml" || loc.Region.StartLine < 1 || r.PartialFingerprints["wardenAuditFinding/v1"] == "" {
				t.Errorf("result %s: location %+v, fingerprints %v", r.RuleID, loc, r.PartialFingerprints)
			}
		}
	}
}

var scoreLine = regexp.MustCompile(`score (\d+)/100 \(([a-z ]+)`)

// TestAuditFixtureScores pins the scores the issue asks to report.
func TestAuditFixtureScores(t *testing.T) {
	for name, want := range map[string]func(int) bool{
		"insecure": func(s int) bool { return s < 50 },
		"hardened": func(s int) bool { return s >= 90 },
	} {
		build := audittest.Insecure
		if name == "hardened" {
			build = audittest.Hardened
		}
		out := renderFixture(t, build(t), "table", noGate)
		m := scoreLine.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("%s: no score line:\n%s", name, out)
		}
		var s int
		s, _ = strconv.Atoi(m[1])
		if !want(s) {
			t.Errorf("%s scored %d (%s)", name, s, m[2])
		}
		t.Logf("%s fixture: score %s (%s)", name, m[1], m[2])
	}
}

// docs/audit.md lists every check with its severity.
func TestAuditDocsListEveryCheck(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(pkgDir, "..", "docs", "audit.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range audit.Catalog() {
		if !strings.Contains(string(doc), "`"+c.ID+"`") || !regexp.MustCompile("`"+regexp.QuoteMeta(c.ID)+"`[^|]*\\| "+string(c.Severity)+" \\|").Match(doc) {
			t.Errorf("docs/audit.md does not list %s (%s)", c.ID, c.Severity)
		}
	}
}
