package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const goldenRecords = `{"id":"GHSA-35jh-r3h4-6jhm","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2021-23337"],"summary":"Command Injection in lodash",
 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
 "affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}
`

const goldenLock = `{
  "lockfileVersion": 3,
  "packages": {
    "": {"dependencies": {"lodash": "^4"}},
    "node_modules/lodash": {"version": "4.17.20"},
    "node_modules/minimist": {"version": "1.2.5"}
  }
}
`

const goldenMinimist = `{"id":"GHSA-xvch-5gv4-984h","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2021-44906"],"summary":"Prototype Pollution in minimist | parse",
 "database_specific":{"severity":"CRITICAL"},
 "affected":[{"package":{"ecosystem":"npm","name":"minimist"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.2.4"},{"introduced":"1.0.0"},{"fixed":"1.2.6"}]}]}]}
`

// The formatters' output, compared with golden files (go test ./commands
// -run TestDepsScanGolden -update rewrites them).
func TestDepsScanGolden(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for name, content := range map[string]string{"a.json": goldenRecords, "b.json": goldenMinimist, "app/package-lock.json": goldenLock} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	run := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		env := testEnv(&out, &errOut)
		env.Now = func() time.Time { return now }
		env.Build.Version = "v1.2.3"
		code := Run(context.Background(), append([]string{"warden", "--state-dir", filepath.Join(dir, "state")}, args...), env)
		return out.String(), errOut.String(), code
	}
	if _, errOut, code := run("deps", "db", "import", "a.json", "b.json"); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	for _, c := range []struct{ format, golden string }{
		{"table", "scan.txt"}, {"json", "scan.json"}, {"sarif", "scan.sarif"}, {"markdown", "scan.md"},
	} {
		out, errOut, code := run("deps", "scan", "--format", c.format, "--max-db-age", "0", "app")
		if code != ExitGate {
			t.Errorf("%s: exit %d, want 1; stderr %s", c.format, code, errOut)
		}
		if c.format == "table" {
			out += "--- stderr\n" + errOut
		} else if errOut != "" {
			t.Errorf("%s: stderr %q, want nothing (stdout carries the result)", c.format, errOut)
		}
		path := filepath.Join(testdataDir(t), "deps", c.golden)
		if *update {
			if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (create it with -update)", err)
		}
		if out != string(want) {
			t.Errorf("%s output differs from %s (-update rewrites it):\n%s", c.format, c.golden, out)
		}
	}
	// The gate: critical passes with only a high finding ignored away.
	if _, errOut, code := run("deps", "scan", "--fail-on", "critical", "--ignore", "CVE-2021-44906", "app"); code != ExitOK || !strings.Contains(errOut, "1 ignored") {
		t.Errorf("gate: exit %d, %s", code, errOut)
	}
}

// testdataDir is commands/testdata, from the package directory the test
// started in (the test changes directory).
var pkgDir, _ = os.Getwd()

func testdataDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(pkgDir, "testdata")
	if err := os.MkdirAll(filepath.Join(d, "deps"), 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// The deps SARIF (the golden file TestDepsScanGolden keeps equal to the
// output) validates against the SARIF 2.1.0 schema, and every result
// points at a lockfile line.
func TestDepsSARIFSchema(t *testing.T) {
	sch, err := jsonschema.NewCompiler().Compile(filepath.Join(pkgDir, "testdata", "audit", "sarif-2.1.0-rtm.5.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(pkgDir, "testdata", "deps", "scan.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("SARIF does not validate: %v", err)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
						Region           struct{ StartLine int } `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(doc, &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != 1 || len(log.Runs[0].Results) != 2 {
		t.Fatalf("want one run with two results: %s", doc)
	}
	for _, r := range log.Runs[0].Results {
		loc := r.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI != "app/package-lock.json" || loc.Region.StartLine < 5 {
			t.Errorf("%s: location %+v", r.RuleID, loc)
		}
	}
}
