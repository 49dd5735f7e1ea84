package deps

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/warden-sec/warden/scanners/deps/osv"
)

// githubEcosystems maps GitHub's advisory ecosystem names to OSV's.
var githubEcosystems = map[string]string{
	"npm": "npm", "pip": "PyPI", "go": "Go", "rubygems": "RubyGems", "composer": "Packagist",
	"rust": "crates.io", "maven": "Maven", "nuget": "NuGet", "pub": "Pub", "swift": "SwiftURL",
}

// GitHubOptions says which repository to ask and how.
type GitHubOptions struct {
	Owner, Repo string
	Token       string
	// BaseURL is the REST API root; empty means GitHub's public API.
	BaseURL string
	Client  *http.Client
}

// DependabotAlerts lists the repository's open Dependabot alerts as
// findings, following the API's cursor pagination.
func DependabotAlerts(ctx context.Context, o GitHubOptions) ([]Finding, error) {
	gh := github.NewClient(o.Client)
	if o.Token != "" {
		gh = gh.WithAuthToken(o.Token)
	}
	if o.BaseURL != "" {
		u, err := url.Parse(strings.TrimSuffix(o.BaseURL, "/") + "/")
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("github api url %q is not an http(s) URL", o.BaseURL)
		}
		gh.BaseURL = u
	}
	state := "open"
	opts := &github.ListAlertsOptions{State: &state, ListCursorOptions: github.ListCursorOptions{PerPage: 100}}
	var out []Finding
	for page := 0; page < 1000; page++ {
		alerts, resp, err := gh.Dependabot.ListRepoAlerts(ctx, o.Owner, o.Repo, opts)
		if err != nil {
			return nil, fmt.Errorf("dependabot alerts of %s/%s: %w", o.Owner, o.Repo, err)
		}
		for _, a := range alerts {
			out = append(out, alertFinding(a))
		}
		if resp.After == "" {
			break
		}
		opts.After = resp.After
	}
	return out, nil
}

func alertFinding(a *github.DependabotAlert) Finding {
	f := Finding{Source: "github", URL: a.GetHTMLURL()}
	if d := a.GetDependency(); d != nil {
		f.File = d.GetManifestPath()
		if d.GetScope() == "runtime" || d.GetScope() == "development" {
			f.Dependency = ""
		}
		if p := d.GetPackage(); p != nil {
			f.Package = p.GetName()
			f.Ecosystem = p.GetEcosystem()
			if e, ok := githubEcosystems[strings.ToLower(p.GetEcosystem())]; ok {
				f.Ecosystem = e
			}
			f.Package = osv.NormalizeName(f.Ecosystem, f.Package)
		}
	}
	adv := a.GetSecurityAdvisory()
	f.ID = adv.GetGHSAID()
	if cve := adv.GetCVEID(); cve != "" {
		f.Aliases = append(f.Aliases, cve)
	}
	f.Summary = adv.GetSummary()
	if c := adv.GetCVSS(); c != nil && c.GetVectorString() != "" {
		f.Vector = c.GetVectorString()
		if c.Score != nil {
			f.Score = *c.Score
		}
	}
	sev := adv.GetSeverity()
	if v := a.GetSecurityVulnerability(); v != nil {
		f.Version = v.GetVulnerableVersionRange()
		if fp := v.GetFirstPatchedVersion(); fp != nil && fp.GetIdentifier() != "" {
			f.Fixed = []string{fp.GetIdentifier()}
		}
		if sev == "" {
			sev = v.GetSeverity()
		}
	}
	l, _ := osv.ParseLevel(sev)
	f.SetLevel(l)
	return f
}

// MergeAlerts adds the alerts to the local findings: an alert for a
// vulnerability already found locally in the same package marks that
// finding (source "osv+github", the alert's URL); the others are appended.
func MergeAlerts(local, alerts []Finding) []Finding {
	for _, a := range alerts {
		merged := false
		for i := range local {
			l := &local[i]
			if l.Ecosystem != a.Ecosystem || osv.NormalizeName(l.Ecosystem, l.Package) != osv.NormalizeName(a.Ecosystem, a.Package) {
				continue
			}
			if sameVuln(*l, a) {
				l.Source, l.URL = "osv+github", a.URL
				merged = true
			}
		}
		if !merged {
			local = append(local, a)
		}
	}
	return local
}

func sameVuln(a, b Finding) bool {
	ids := map[string]bool{a.ID: true}
	for _, x := range a.Aliases {
		ids[x] = true
	}
	if ids[b.ID] {
		return true
	}
	for _, x := range b.Aliases {
		if ids[x] {
			return true
		}
	}
	return false
}
