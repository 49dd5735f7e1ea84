package gateway

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite generated documentation")

const (
	routesStart = "<!-- routes:start -->\n"
	routesEnd   = "<!-- routes:end -->"
)

// docs/api.md's route table is generated from the route table; this test
// fails when it is stale (fix with -update).
func TestAPIDocRoutes(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	var b strings.Builder
	b.WriteString("| Method | Path | Least role | What |\n|---|---|---|---|\n")
	for _, r := range e.srv.Routes() {
		role := "public"
		if r.MinRole != "" {
			role = string(r.MinRole)
		}
		if r.Path == "/metrics" {
			role = "public on loopback, else viewer"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", r.Method, r.Path, role, r.Doc)
	}
	path := "../../docs/api.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, routesStart), strings.Index(s, routesEnd)
	if i < 0 || j < i {
		t.Fatal("docs/api.md lacks the route table markers")
	}
	want := s[:i+len(routesStart)] + b.String() + s[j:]
	if want == s {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("docs/api.md's route table is stale: run go test ./core/gateway -run TestAPIDocRoutes -update")
}
