package commands

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/warden-sec/warden/core/config"
)

var update = flag.Bool("update", false, "rewrite generated documentation")

const (
	refStart = "<!-- config-reference:start -->\n"
	refEnd   = "<!-- config-reference:end -->"
)

// The README's configuration reference is generated from the schema; this
// test fails when it is stale (fix with -update).
func TestReadmeConfigReference(t *testing.T) {
	path := "../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, refStart), strings.Index(s, refEnd)
	if i < 0 || j < i {
		t.Fatal("README.md lacks the config reference markers")
	}
	want := s[:i+len(refStart)] + "\n" + referenceMarkdown(config.Reference()) + "\n" + s[j:]
	if want == s {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("README.md's configuration reference is stale: run go test ./commands -run TestReadme -update")
}

// Every exit code the code uses is documented in the README.
func TestReadmeExitCodes(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"| 0 |", "| 1 |", "| 2 |", "| 3 |"} {
		if !strings.Contains(string(data), code) {
			t.Errorf("README exit code table lacks %q", code)
		}
	}
}
