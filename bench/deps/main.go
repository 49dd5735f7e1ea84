// Command deps builds the inputs of bench/deps.sh: a synthetic OSV npm
// database (an all.zip export) sized to order, whose records are spread over
// the packages of a real package-lock.json and many packages it does not
// have, and compares the vulnerability ids two scanners reported.
//
//	go run ./bench/deps gen -lock package-lock.json -n 100000 -out DIR
//	go run ./bench/deps ids -warden warden.json -osv osv-scanner.json
package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/warden-sec/warden/scanners/deps/lockfile"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: deps gen|ids [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "ids":
		err = ids(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "deps:", err)
		os.Exit(1)
	}
}

type event map[string]string

type record struct {
	ID               string            `json:"id"`
	Modified         string            `json:"modified"`
	Published        string            `json:"published"`
	Withdrawn        string            `json:"withdrawn,omitempty"`
	Aliases          []string          `json:"aliases,omitempty"`
	Summary          string            `json:"summary"`
	Details          string            `json:"details"`
	Severity         []map[string]any  `json:"severity,omitempty"`
	Affected         []map[string]any  `json:"affected"`
	DatabaseSpecific map[string]string `json:"database_specific,omitempty"`
}

// gen writes DIR/osv-scalibr/npm/all.zip (osv-scanner's offline layout;
// warden imports the same file).
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	lock := fs.String("lock", "", "package-lock.json whose packages the records name")
	n := fs.Int("n", 20000, "records")
	out := fs.String("out", "", "output root")
	seed := fs.Uint64("seed", 1, "random seed")
	fs.Parse(args)
	pkgs, err := lockfile.Parse(context.Background(), *lock)
	if err != nil {
		return err
	}
	type pv struct{ name, version string }
	var real []pv
	seen := map[string]bool{}
	for _, p := range pkgs {
		if !seen[p.Name+"@"+p.Version] {
			seen[p.Name+"@"+p.Version] = true
			real = append(real, pv{p.Name, p.Version})
		}
	}
	r := rand.New(rand.NewPCG(*seed, 2))
	dir := filepath.Join(*out, "osv-scalibr", "npm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "all.zip"))
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	sev := []string{"LOW", "MODERATE", "HIGH", "CRITICAL"}
	vectors := []string{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}
	for i := 0; i < *n; i++ {
		id := fmt.Sprintf("GHSA-bench-%06d", i)
		rec := record{ID: id, Modified: "2025-01-01T00:00:00Z", Published: "2024-06-01T00:00:00Z",
			Aliases: []string{fmt.Sprintf("CVE-2024-%06d", i)}, Summary: "synthetic advisory " + strconv.Itoa(i),
			Details:          strings.Repeat("Details of a synthetic advisory for the benchmark. ", 8),
			DatabaseSpecific: map[string]string{"severity": sev[r.IntN(len(sev))]}}
		if r.IntN(3) == 0 {
			rec.Severity = []map[string]any{{"type": "CVSS_V3", "score": vectors[r.IntN(len(vectors))]}}
		}
		var name, intro, fixed string
		typ := "SEMVER"
		if r.IntN(2) == 0 {
			typ = "ECOSYSTEM"
		}
		switch k := r.IntN(100); {
		case k < 2 && len(real) > 0: // affects an installed version
			p := real[r.IntN(len(real))]
			name, intro, fixed = p.name, "0", bump(p.version)
		case k < 30 && len(real) > 0: // names an installed package, another version range
			p := real[r.IntN(len(real))]
			name, intro, fixed = p.name, "0", "0.0.1"
		default: // a package the lockfile does not have
			name, intro, fixed = fmt.Sprintf("synthetic-pkg-%d", r.IntN(*n/2+1)), "1.0.0", "1.2.3"
		}
		rng := map[string]any{"type": typ, "events": []event{{"introduced": intro}, {"fixed": fixed}}}
		aff := map[string]any{"package": map[string]string{"ecosystem": "npm", "name": name, "purl": "pkg:npm/" + name},
			"ranges": []any{rng}, "database_specific": map[string]string{"source": "bench"}}
		if r.IntN(10) == 0 {
			aff["versions"] = []string{"0.0.0-old"}
		}
		rec.Affected = []map[string]any{aff}
		if r.IntN(200) == 0 {
			rec.Withdrawn = "2025-02-01T00:00:00Z"
		}
		w, err := zw.Create(id + ".json")
		if err != nil {
			return err
		}
		if err := json.NewEncoder(w).Encode(rec); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// bump returns the next major version, as a fixed event above v.
func bump(v string) string {
	major, _, _ := strings.Cut(v, ".")
	m, err := strconv.Atoi(major)
	if err != nil {
		return "999.0.0"
	}
	return strconv.Itoa(m+1) + ".0.0"
}

// ids compares the vulnerability ids of warden's JSON with osv-scanner's.
func ids(args []string) error {
	fs := flag.NewFlagSet("ids", flag.ExitOnError)
	wf := fs.String("warden", "", "warden deps scan --format json output")
	of := fs.String("osv", "", "osv-scanner --format json output")
	fs.Parse(args)
	var w struct {
		Findings []struct{ ID, Package, Version string } `json:"findings"`
	}
	var o struct {
		Results []struct {
			Packages []struct {
				Package         struct{ Name, Version string } `json:"package"`
				Vulnerabilities []struct {
					ID string `json:"id"`
				} `json:"vulnerabilities"`
			} `json:"packages"`
		} `json:"results"`
	}
	for _, x := range []struct {
		file string
		v    any
	}{{*wf, &w}, {*of, &o}} {
		data, err := os.ReadFile(x.file)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, x.v); err != nil {
			return fmt.Errorf("%s: %w", x.file, err)
		}
	}
	a, b := map[string]bool{}, map[string]bool{}
	for _, f := range w.Findings {
		a[f.Package+"@"+f.Version+" "+f.ID] = true
	}
	for _, r := range o.Results {
		for _, p := range r.Packages {
			for _, v := range p.Vulnerabilities {
				b[p.Package.Name+"@"+p.Package.Version+" "+v.ID] = true
			}
		}
	}
	var onlyW, onlyO []string
	for k := range a {
		if !b[k] {
			onlyW = append(onlyW, k)
		}
	}
	for k := range b {
		if !a[k] {
			onlyO = append(onlyO, k)
		}
	}
	sort.Strings(onlyW)
	sort.Strings(onlyO)
	fmt.Printf("warden %d, osv-scanner %d (package@version id pairs); only warden %d, only osv-scanner %d\n", len(a), len(b), len(onlyW), len(onlyO))
	for _, k := range onlyW {
		fmt.Println("  only warden:", k)
	}
	for _, k := range onlyO {
		fmt.Println("  only osv-scanner:", k)
	}
	if len(onlyW)+len(onlyO) > 0 {
		return fmt.Errorf("the finding sets differ")
	}
	return nil
}
