package commands

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/scanners/deps"
	"github.com/warden-sec/warden/scanners/deps/lockfile"
	"github.com/warden-sec/warden/scanners/deps/osv"
)

// Defaults of `warden deps`; each has a flag and a WARDEN_* variable.
const (
	defaultOSVURL      = "https://osv-vulnerabilities.storage.googleapis.com"
	defaultGitHubAPI   = "https://api.github.com/"
	defaultMaxDBAge    = "7d"
	defaultMaxDownload = 2 << 30
	depsDBDir          = "osv"
)

var defaultEcosystems = []string{"Go", "npm", "PyPI", "crates.io", "RubyGems", "Packagist"}

const depsScanDescription = `Finds lockfiles in each PATH (default: the current directory; with
--recursive, every directory below it except .git and node_modules) and
matches their packages against the offline OSV database
(warden deps db import / update).

Reads: go.mod (go.sum without a go.mod), package-lock.json (v1-v3),
npm-shrinkwrap.json, pnpm-lock.yaml, yarn.lock (v1 and berry),
requirements*.txt (pinned ==/=== only), poetry.lock, uv.lock,
Pipfile.lock, Cargo.lock, Gemfile.lock and composer.lock; with --binary,
the modules embedded in a Go binary.

Exit codes:
   0  no finding at or above --fail-on
   1  findings at or above --fail-on (default "any": every finding fails,
      as with osv-scanner; a finding of unknown severity fails only "any")
   2  input error: an unreadable or malformed lockfile (named with its
      line), a missing database, bad flags
   3  internal or environment error (a failed download, the GitHub API)`

func (w *wiring) depsCommand() *cli.Command {
	return &cli.Command{
		Name:  "deps",
		Usage: "scan dependency lockfiles against an offline OSV vulnerability database",
		Subcommands: []*cli.Command{
			{
				Name:        "scan",
				Usage:       "report known vulnerabilities in lockfiles and Go binaries; exit 1 at or above --fail-on",
				ArgsUsage:   "[PATH...]",
				Description: depsScanDescription,
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "recursive", Aliases: []string{"r"}, Usage: "also scan the directories below each PATH", EnvVars: []string{"WARDEN_DEPS_RECURSIVE"}},
					formatFlag("WARDEN_DEPS_FORMAT", "table", "json", "sarif", "markdown"),
					&cli.StringFlag{Name: "fail-on", Value: "any", Usage: "exit 1 for findings at or above: any, low, medium, high, critical", EnvVars: []string{"WARDEN_DEPS_FAIL_ON"}},
					&cli.StringSliceFlag{Name: "ignore", Usage: "leave out this vulnerability id or alias (repeatable)", EnvVars: []string{"WARDEN_DEPS_IGNORE"}},
					&cli.StringFlag{Name: "ignore-file", Usage: "leave out the ids listed in this file (one per line, # comments)", TakesFile: true, EnvVars: []string{"WARDEN_DEPS_IGNORE_FILE"}},
					&cli.StringSliceFlag{Name: "binary", Usage: "scan the modules embedded in this Go binary (repeatable)", TakesFile: true, EnvVars: []string{"WARDEN_DEPS_BINARY"}},
					&cli.StringFlag{Name: "max-db-age", Value: defaultMaxDBAge, Usage: "warn when a database used is older than this (0 never warns)", EnvVars: []string{"WARDEN_DEPS_MAX_DB_AGE"}},
					&cli.StringFlag{Name: "github", Usage: "also list the open Dependabot alerts of OWNER/REPO (token from GITHUB_TOKEN)", EnvVars: []string{"WARDEN_DEPS_GITHUB"}},
					&cli.StringFlag{Name: "github-api-url", Value: defaultGitHubAPI, Usage: "GitHub REST API root (GitHub Enterprise: https://HOST/api/v3/)", EnvVars: []string{"WARDEN_GITHUB_API_URL"}},
				},
				Action: w.depsScan,
			},
			{
				Name:  "db",
				Usage: "manage the offline OSV vulnerability database",
				Subcommands: []*cli.Command{
					{
						Name:      "import",
						Usage:     "import OSV all.zip exports or OSV JSON files (a file, a directory or an http(s) URL)",
						ArgsUsage: "FILE|DIR|URL...",
						Description: "An all.zip export replaces the database of each ecosystem it names; single JSON\n" +
							"records are added to (or replace by id in) the existing database. Every record is\n" +
							"validated first; on any error nothing is changed.",
						Flags: []cli.Flag{
							&cli.Int64Flag{Name: "max-download", Value: defaultMaxDownload, Usage: "largest download accepted, in bytes", EnvVars: []string{"WARDEN_DEPS_MAX_DOWNLOAD"}},
							resultFormatFlag(),
						},
						Action: w.depsDBImport,
					},
					{
						Name:  "update",
						Usage: "download the ecosystems' all.zip exports; a failed download keeps the previous database",
						Flags: []cli.Flag{
							&cli.StringSliceFlag{Name: "ecosystem", Value: cli.NewStringSlice(defaultEcosystems...), Usage: "ecosystems to download (repeatable)", EnvVars: []string{"WARDEN_DEPS_ECOSYSTEMS"}},
							&cli.StringFlag{Name: "url", Value: defaultOSVURL, Usage: "where the exports live, as URL/ECOSYSTEM/all.zip", EnvVars: []string{"WARDEN_DEPS_DB_URL"}},
							&cli.Int64Flag{Name: "max-download", Value: defaultMaxDownload, Usage: "largest download accepted, in bytes", EnvVars: []string{"WARDEN_DEPS_MAX_DOWNLOAD"}},
							resultFormatFlag(),
						},
						Action: w.depsDBUpdate,
					},
					{
						Name:   "status",
						Usage:  "show each ecosystem's records, packages and age",
						Flags:  []cli.Flag{formatFlag("WARDEN_DEPS_FORMAT", "table", "json")},
						Action: w.depsDBStatus,
					},
				},
			},
		},
	}
}

// depsDB opens the state dir and returns the database in it.
func (w *wiring) depsDB(c *cli.Context) (*osv.DB, error) {
	sess, err := w.openState(c.Context, c)
	if err != nil {
		return nil, err
	}
	return &osv.DB{Dir: filepath.Join(sess.stateDir, depsDBDir)}, nil
}

// depsScanOptions are the parsed flags of `deps scan`.
type depsScanOptions struct {
	paths      []string
	binaries   []string
	recursive  bool
	format     string
	failAny    bool
	failOnName string
	failOn     osv.Level
	ignore     map[string]bool
	maxAge     time.Duration
	github     string
	githubAPI  string
	githubAuth string
}

func (w *wiring) depsScanOptions(c *cli.Context) (*depsScanOptions, error) {
	f, err := format(c, "table", "json", "sarif", "markdown")
	if err != nil {
		return nil, err
	}
	o := &depsScanOptions{paths: c.Args().Slice(), binaries: c.StringSlice("binary"), recursive: c.Bool("recursive"), format: f,
		ignore: map[string]bool{}, github: c.String("github"), githubAPI: c.String("github-api-url"), githubAuth: w.env.Getenv("GITHUB_TOKEN")}
	if len(o.paths) == 0 && len(o.binaries) == 0 {
		o.paths = []string{"."}
	}
	switch fo := strings.ToLower(c.String("fail-on")); fo {
	case "any", "":
		o.failAny, o.failOnName = true, "any"
	default:
		l, ok := osv.ParseLevel(fo)
		if !ok {
			return nil, usageErrorf("--fail-on %q is not one of any, low, medium, high, critical", c.String("fail-on"))
		}
		o.failOn, o.failOnName = l, l.String()
	}
	for _, id := range c.StringSlice("ignore") {
		if id = strings.TrimSpace(id); id != "" {
			o.ignore[id] = true
		}
	}
	if file := c.String("ignore-file"); file != "" {
		if err := readIgnoreFile(file, o.ignore); err != nil {
			return nil, err
		}
	}
	if s := c.String("max-db-age"); s != "0" && s != "" {
		if o.maxAge, err = config.ParseDuration(s); err != nil || o.maxAge < 0 {
			return nil, usageErrorf("--max-db-age %q is not a duration such as 36h or 7d", s)
		}
	}
	if o.github != "" {
		owner, repo, ok := strings.Cut(o.github, "/")
		if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
			return nil, usageErrorf("--github %q is not OWNER/REPO", o.github)
		}
	}
	return o, nil
}

// readIgnoreFile adds the ids of an ignore file: one per line, with
// optional "# reason" comments.
func readIgnoreFile(file string, into map[string]bool) error {
	f, err := os.Open(file)
	if err != nil {
		return inputError(fmt.Errorf("ignore file: %w", err), "")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.ContainsAny(line, " \t,;") {
			return inputError(fmt.Errorf("%s:%d: expected one vulnerability id, found %q", file, n, line), "write one id per line; a reason goes after #")
		}
		into[line] = true
	}
	if err := sc.Err(); err != nil {
		return inputError(fmt.Errorf("ignore file %s: %w", file, err), "")
	}
	return nil
}

// scanReport is what every output format renders.
type scanReport struct {
	SchemaVersion int               `json:"schemaVersion"`
	Lockfiles     []scannedFile     `json:"lockfiles"`
	Databases     []scanDatabase    `json:"databases"`
	Findings      []deps.Finding    `json:"findings"`
	Ignored       int               `json:"ignored"`
	FailOn        string            `json:"failOn"`
	Failing       int               `json:"failing"`
	Packages      int               `json:"packages"`
	Counts        map[string]int    `json:"severityCounts"`
	GitHub        *scanGitHubSource `json:"github,omitempty"`
}

type scannedFile struct {
	Path     string `json:"path"`
	Packages int    `json:"packages"`
}

type scanDatabase struct {
	Ecosystem  string    `json:"ecosystem"`
	Records    int       `json:"records"`
	ImportedAt time.Time `json:"importedAt"`
}

type scanGitHubSource struct {
	Repository string `json:"repository"`
	Alerts     int    `json:"alerts"`
}

func (w *wiring) depsScan(c *cli.Context) error {
	o, err := w.depsScanOptions(c)
	if err != nil {
		return err
	}
	var files []string
	for _, p := range o.paths {
		found, err := lockfile.Find(p, o.recursive)
		if err != nil {
			if errors.Is(err, lockfile.ErrUnknownFormat) {
				return inputError(err, "name a lockfile warden reads, or a directory (see `warden deps scan --help`)")
			}
			return inputError(err, "")
		}
		files = append(files, found...)
	}
	if len(files) == 0 && len(o.binaries) == 0 {
		return inputError(fmt.Errorf("no lockfile in %s", strings.Join(o.paths, ", ")), "use --recursive to look in subdirectories, or name the lockfile")
	}
	rep := scanReport{SchemaVersion: jsonSchemaVersion, FailOn: o.failOnName, Counts: map[string]int{}}
	var pkgs []lockfile.Package
	for _, f := range files {
		ps, err := lockfile.Parse(c.Context, f)
		if err != nil {
			return lockfileError(err)
		}
		rep.Lockfiles = append(rep.Lockfiles, scannedFile{Path: f, Packages: len(ps)})
		pkgs = append(pkgs, ps...)
	}
	for _, b := range o.binaries {
		ps, err := lockfile.ParseGoBinary(b)
		if err != nil {
			return lockfileError(err)
		}
		rep.Lockfiles = append(rep.Lockfiles, scannedFile{Path: b, Packages: len(ps)})
		pkgs = append(pkgs, ps...)
	}
	rep.Packages = len(pkgs)
	db, err := w.depsDB(c)
	if err != nil {
		return err
	}
	findings, infos, err := deps.Match(c.Context, db, pkgs)
	var missing *deps.MissingDatabaseError
	if errors.As(err, &missing) {
		return inputError(err, "import it with `warden deps db import FILE|DIR|URL` or `warden deps db update --ecosystem "+missing.Ecosystems[0]+"`")
	}
	if err != nil {
		if errors.Is(err, osv.ErrCorrupt) {
			return inputError(err, "run `warden deps db update` or import the database again")
		}
		return err
	}
	now := w.env.Now()
	for _, in := range infos {
		rep.Databases = append(rep.Databases, scanDatabase{Ecosystem: in.Ecosystem, Records: in.Records, ImportedAt: in.ImportedAt})
		if age := now.Sub(in.ImportedAt); o.maxAge > 0 && age > o.maxAge {
			w.warnf("the %s database is %s old (more than --max-db-age %s); run `warden deps db update`", in.Ecosystem, humanAge(age), c.String("max-db-age"))
		}
	}
	if o.github != "" {
		owner, repo, _ := strings.Cut(o.github, "/")
		if o.githubAuth == "" {
			w.warnf("GITHUB_TOKEN is not set; the Dependabot alerts API needs a token with security_events or repo scope")
		}
		alerts, err := deps.DependabotAlerts(c.Context, deps.GitHubOptions{Owner: owner, Repo: repo, Token: o.githubAuth,
			BaseURL: o.githubAPI, Client: deps.NewHTTPClient(o.githubAPI)})
		if err != nil {
			return err
		}
		findings = deps.MergeAlerts(findings, alerts)
		rep.GitHub = &scanGitHubSource{Repository: o.github, Alerts: len(alerts)}
	}
	findings, rep.Ignored = deps.Ignore(findings, o.ignore)
	deps.Sort(findings)
	if findings == nil {
		findings = []deps.Finding{}
	}
	rep.Findings = findings
	for _, f := range findings {
		rep.Counts[f.Severity]++
	}
	rep.Failing = deps.Gate(findings, o.failOn, o.failAny)
	if err := w.renderScan(c, o.format, &rep); err != nil {
		return err
	}
	if rep.Failing > 0 {
		return gateFailed(fmt.Errorf("%d finding%s at or above --fail-on %s", rep.Failing, plural(rep.Failing), rep.FailOn))
	}
	return nil
}

// lockfileError makes a malformed or unreadable lockfile an input error.
func lockfileError(err error) error {
	var pe *lockfile.ParseError
	if errors.As(err, &pe) {
		return inputError(err, "fix or regenerate the lockfile with its package manager")
	}
	return inputError(err, "")
}

func humanAge(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}

// dbChanged is what `deps db import` and `deps db update` print as JSON:
// one entry per ecosystem, with the error when its update failed.
type dbChanged struct {
	SchemaVersion int             `json:"schemaVersion"`
	Directory     string          `json:"directory"`
	Ecosystems    []dbChangeEntry `json:"ecosystems"`
}

type dbChangeEntry struct {
	Ecosystem string `json:"ecosystem"`
	Records   int    `json:"records"`
	Packages  int    `json:"packages"`
	Error     string `json:"error,omitempty"`
}

func (w *wiring) depsDBImport(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("import takes at least one FILE, DIR or URL")
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	db, err := w.depsDB(c)
	if err != nil {
		return err
	}
	var batches []*osv.Batch
	for _, src := range c.Args().Slice() {
		if strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://") {
			b, err := db.FetchZip(c.Context, deps.NewHTTPClient(src), src, c.Int64("max-download"), w.progress(src))
			if err != nil {
				return osvError(err)
			}
			batches = append(batches, b)
			continue
		}
		bs, err := osv.ReadPath(c.Context, src)
		if err != nil {
			return osvError(err)
		}
		batches = append(batches, bs...)
	}
	infos, err := db.Import(c.Context, batches, w.env.Now())
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		return inputError(errors.New("the records name no package ecosystem"), "")
	}
	out := dbChanged{SchemaVersion: jsonSchemaVersion, Directory: db.Dir, Ecosystems: []dbChangeEntry{}}
	var text strings.Builder
	for _, in := range infos {
		out.Ecosystems = append(out.Ecosystems, dbChangeEntry{Ecosystem: in.Ecosystem, Records: in.Records, Packages: in.Packages})
		fmt.Fprintf(&text, "imported %s: %d records, %d packages\n", in.Ecosystem, in.Records, in.Packages)
	}
	return w.printResult(f, out, text.String())
}

// osvError makes a bad record or archive an input error.
func osvError(err error) error {
	var ie *osv.InvalidRecordError
	if errors.As(err, &ie) {
		return inputError(err, "the database was not changed")
	}
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		return inputError(err, "")
	}
	return &exitError{code: ExitInternal, err: err, hint: "the database was not changed"}
}

func (w *wiring) depsDBUpdate(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	ecos := c.StringSlice("ecosystem")
	base := c.String("url")
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return usageErrorf("--url %q is not an http(s) URL", base)
	}
	db, err := w.depsDB(c)
	if err != nil {
		return err
	}
	results := db.Update(c.Context, deps.NewHTTPClient(base), base, ecos, c.Int64("max-download"), w.env.Now, func(e string) osv.Progress {
		return w.progress(e)
	})
	var failed []string
	out := dbChanged{SchemaVersion: jsonSchemaVersion, Directory: db.Dir, Ecosystems: []dbChangeEntry{}}
	var text strings.Builder
	for _, r := range results {
		if r.Err != nil {
			w.warnf("%s: %v; the previous database is kept", r.Ecosystem, r.Err)
			failed = append(failed, r.Ecosystem)
			out.Ecosystems = append(out.Ecosystems, dbChangeEntry{Ecosystem: r.Ecosystem, Error: r.Err.Error()})
			continue
		}
		out.Ecosystems = append(out.Ecosystems, dbChangeEntry{Ecosystem: r.Ecosystem, Records: r.Info.Records, Packages: r.Info.Packages})
		fmt.Fprintf(&text, "updated %s: %d records, %d packages\n", r.Ecosystem, r.Info.Records, r.Info.Packages)
	}
	// What was updated is printed even when another ecosystem failed.
	if err := w.printResult(f, out, text.String()); err != nil {
		return err
	}
	if len(failed) > 0 {
		return &exitError{code: ExitInternal, err: fmt.Errorf("could not update %s", strings.Join(failed, ", ")), hint: "check the network and --url, then run `warden deps db update` again"}
	}
	return nil
}

// progress draws download progress on a terminal and nothing otherwise.
func (w *wiring) progress(label string) osv.Progress {
	tty, ok := ttyFile(w.env.Stderr)
	if !ok || w.env.Getenv("CI") != "" {
		return nil
	}
	return func(done, total int64) {
		if total > 0 {
			fmt.Fprintf(tty, "\r\x1b[Kwarden: %s: %.1f of %.1f MiB", label, float64(done)/(1<<20), float64(total)/(1<<20))
		} else {
			fmt.Fprintf(tty, "\r\x1b[Kwarden: %s: %.1f MiB", label, float64(done)/(1<<20))
		}
		if done == total {
			fmt.Fprintln(tty)
		}
	}
}

type dbStatusOutput struct {
	SchemaVersion int             `json:"schemaVersion"`
	Directory     string          `json:"directory"`
	Ecosystems    []dbStatusEntry `json:"ecosystems"`
}

type dbStatusEntry struct {
	osv.Info
	AgeSeconds int64 `json:"ageSeconds"`
}

func (w *wiring) depsDBStatus(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "table", "json")
	if err != nil {
		return err
	}
	db, err := w.depsDB(c)
	if err != nil {
		return err
	}
	infos, err := db.Status()
	if err != nil {
		if errors.Is(err, osv.ErrCorrupt) {
			return inputError(err, "")
		}
		return err
	}
	now := w.env.Now()
	out := dbStatusOutput{SchemaVersion: jsonSchemaVersion, Directory: db.Dir, Ecosystems: []dbStatusEntry{}}
	for _, in := range infos {
		out.Ecosystems = append(out.Ecosystems, dbStatusEntry{Info: in, AgeSeconds: int64(now.Sub(in.ImportedAt).Seconds())})
	}
	if f == "json" {
		return writeJSON(w.env.Stdout, out)
	}
	if len(infos) == 0 {
		w.notef("no vulnerability database in %s; run `warden deps db update` or `warden deps db import FILE`", db.Dir)
		return nil
	}
	sort.Slice(out.Ecosystems, func(i, j int) bool { return out.Ecosystems[i].Ecosystem < out.Ecosystems[j].Ecosystem })
	rows := make([][]string, 0, len(infos))
	for _, e := range out.Ecosystems {
		rows = append(rows, []string{e.Ecosystem, fmt.Sprint(e.Records), fmt.Sprint(e.Packages), fmt.Sprint(e.Withdrawn),
			e.ImportedAt.Format(time.RFC3339), humanAge(now.Sub(e.ImportedAt)), e.Newest.Format("2006-01-02")})
	}
	return writeTable(w.env.Stdout, []string{"ECOSYSTEM", "RECORDS", "PACKAGES", "WITHDRAWN", "IMPORTED", "AGE", "NEWEST RECORD"}, rows)
}
