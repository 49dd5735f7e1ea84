package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/releasenotes"
	"github.com/warden-sec/warden/core/releasenotes/authorcache"
	"github.com/warden-sec/warden/core/releasenotes/githubapi"
	"github.com/warden-sec/warden/core/releasenotes/history"
	"github.com/warden-sec/warden/core/releasenotes/semver"
	"github.com/warden-sec/warden/templates"
)

const releaseNotesHelp = `Walks the git history (no git binary needed) from --to back to the previous
release tag and prints notes for a GitHub Release: Breaking changes first,
Security (commits naming a CVE or GHSA id), then one section per commit type,
and the contributors, first-time ones marked. Commits are read as
Conventional Commits 1.0.0; others go to "Other", or fail the run with --strict.

The previous release is the nearest tag matching --tag-pattern that is an
ancestor of --to; pre-release tags are skipped when the target is a final
release. Without one, the notes cover the whole history (and say so). A
shallow clone that does not reach the previous tag is an error.

--github OWNER/REPO adds pull-request titles, labels and logins (token from
GITHUB_TOKEN; answers cached under --cache-dir); --publish creates or updates
the GitHub Release of the tag.

Exit codes: 0 notes written; 1 --strict found non-conventional commits (the
notes are still printed); 2 usage or input error (bad flag, not a repository,
unknown revision, shallow clone, bad --notes-config or --template, no token
for --publish, token rejected); 3 internal error (GitHub API failure or rate
limit, I/O).`

func (w *wiring) releaseNotesCommand() *cli.Command {
	env := func(s string) []string { return []string{"WARDEN_RELEASE_NOTES_" + s} }
	return &cli.Command{
		Name:        "release-notes",
		Usage:       "release notes from conventional commits, optionally enriched from and published to GitHub",
		Description: releaseNotesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "repo", Value: ".", Usage: "the git repository (any directory inside it)", TakesFile: true, EnvVars: env("REPO")},
			&cli.StringFlag{Name: "from", Usage: "start after this revision (default: the previous release tag)", EnvVars: env("FROM")},
			&cli.StringFlag{Name: "to", Value: "HEAD", Usage: "the release's revision", EnvVars: env("TO")},
			&cli.BoolFlag{Name: "all", Usage: "the whole history up to --to, ignoring earlier tags", EnvVars: env("ALL")},
			&cli.StringFlag{Name: "tag", Usage: "name of the release being made, when --to is not tagged yet", EnvVars: env("TAG")},
			&cli.StringFlag{Name: "tag-pattern", Value: semver.DefaultPattern, Usage: "regular expression for release tags; its capture group is the version (e.g. '^api/v(.+)$')", EnvVars: env("TAG_PATTERN")},
			&cli.StringFlag{Name: "path", Usage: "keep only commits that change this directory (monorepos)", EnvVars: env("PATH")},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "markdown", Usage: "output format: markdown, json", EnvVars: env("FORMAT")},
			&cli.StringFlag{Name: "notes-config", Usage: "YAML file naming the sections (groups), skip patterns and the Other title", TakesFile: true, EnvVars: env("CONFIG")},
			&cli.StringFlag{Name: "template", Usage: "Go text/template for the Markdown (default: the embedded one)", TakesFile: true, EnvVars: env("TEMPLATE")},
			&cli.BoolFlag{Name: "strict", Usage: "drop non-conventional commits and exit 1 when there are any", EnvVars: env("STRICT")},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to this file (atomically) instead of stdout", TakesFile: true, EnvVars: env("OUTPUT")},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing output file", EnvVars: []string{"WARDEN_FORCE"}},
			&cli.StringFlag{Name: "github", Usage: "OWNER/REPO: add pull-request titles, labels and logins from GitHub (token: GITHUB_TOKEN)", EnvVars: env("GITHUB")},
			&cli.StringFlag{Name: "github-api-url", Value: "https://api.github.com/", Usage: "GitHub REST API root (GitHub Enterprise: https://HOST/api/v3/)", EnvVars: env("GITHUB_API_URL")},
			&cli.BoolFlag{Name: "first-time", Value: true, Usage: "mark first-time contributors (reads the history before the previous release; cached under --cache-dir)", EnvVars: env("FIRST_TIME")},
			&cli.StringFlag{Name: "cache-dir", Usage: "cache of GitHub answers and earlier authors (default: warden/release-notes in the user cache dir)", TakesFile: true, EnvVars: env("CACHE_DIR")},
			&cli.BoolFlag{Name: "publish", Usage: "create or update the GitHub Release of the tag with the notes (needs --github and GITHUB_TOKEN)", EnvVars: env("PUBLISH")},
		},
		Action: w.releaseNotes,
	}
}

// releaseNotesOptions are the parsed, checked flags.
type releaseNotesOptions struct {
	repo     string
	rangeOpt history.Options
	format   string
	config   releasenotes.Config
	tmpl     []byte
	tmplName string
	strict   bool
	output   string
	force    bool
	github   string
	apiURL   string
	cacheDir string
	publish  bool
	token    string
	// firstTime marks first-time contributors.
	firstTime bool
	gh        *githubapi.Client
}

func (w *wiring) releaseNotesOptions(c *cli.Context) (*releaseNotesOptions, error) {
	if err := noArgs(c); err != nil {
		return nil, err
	}
	f, err := format(c, "markdown", "json")
	if err != nil {
		return nil, err
	}
	o := &releaseNotesOptions{repo: c.String("repo"), format: f, strict: c.Bool("strict"),
		output: c.String("output"), force: c.Bool("force"), github: c.String("github"),
		apiURL: c.String("github-api-url"), cacheDir: c.String("cache-dir"), publish: c.Bool("publish"),
		token: w.env.Getenv("GITHUB_TOKEN"), firstTime: c.Bool("first-time")}
	pat, err := semver.NewPattern(c.String("tag-pattern"))
	if err != nil {
		return nil, usageErrorf("--%v", err)
	}
	o.rangeOpt = history.Options{To: c.String("to"), From: c.String("from"), All: c.Bool("all"),
		Tag: c.String("tag"), Pattern: pat, Path: c.String("path")}
	if o.rangeOpt.All && o.rangeOpt.From != "" {
		return nil, usageErrorf("--all and --from cannot be combined")
	}
	if p := o.rangeOpt.Path; p != "" && (filepath.IsAbs(p) || strings.HasPrefix(filepath.Clean(p), "..")) {
		return nil, usageErrorf("--path %q: give a directory relative to the repository root", p)
	}
	o.config = releasenotes.DefaultConfig()
	if file := c.String("notes-config"); file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, inputError(fmt.Errorf("--notes-config: %w", err), "")
		}
		if o.config, err = releasenotes.ParseConfig(file, data); err != nil {
			return nil, inputError(err, "see docs/release-notes.md for the keys (groups, skip, other)")
		}
	}
	if file := c.String("template"); file != "" {
		if f == "json" {
			return nil, usageErrorf("--template applies to --format markdown")
		}
		if o.tmpl, err = os.ReadFile(file); err != nil {
			return nil, inputError(fmt.Errorf("--template: %w", err), "")
		}
		o.tmplName = filepath.Base(file)
	}
	if o.publish {
		if o.github == "" {
			return nil, usageErrorf("--publish needs --github OWNER/REPO")
		}
		if o.token == "" {
			return nil, inputError(errors.New("--publish needs a GitHub token"), "set GITHUB_TOKEN to a token that may write releases")
		}
	}
	if o.cacheDir == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			o.cacheDir = filepath.Join(dir, "warden", "release-notes")
		}
	}
	if o.github != "" {
		// Checked before the walk, so a typo fails at once.
		if o.gh, err = githubapi.New(githubapi.Options{Repo: o.github, Token: o.token, BaseURL: o.apiURL, CacheDir: cacheSub(o.cacheDir, "github")}); err != nil {
			return nil, usageErrorf("%v", err)
		}
	}
	return o, nil
}

type releaseNotesOutput struct {
	SchemaVersion int `json:"schemaVersion"`
	*releasenotes.Notes
	Release *githubapi.Release `json:"release,omitempty"`
}

func (w *wiring) releaseNotes(c *cli.Context) error {
	o, err := w.releaseNotesOptions(c)
	if err != nil {
		return err
	}
	return w.runReleaseNotes(c, o)
}

func (w *wiring) runReleaseNotes(c *cli.Context, o *releaseNotesOptions) error {
	ctx := c.Context
	repo, err := history.Open(o.repo)
	if err != nil {
		return releaseNotesError(err)
	}
	defer repo.Close()
	rg, err := repo.Range(ctx, o.rangeOpt)
	if err != nil {
		return releaseNotesError(err)
	}
	notes := releasenotes.Build(rg, releasenotes.Options{Config: o.config, Strict: o.strict, Path: o.rangeOpt.Path})
	if o.firstTime {
		var cache releasenotes.AuthorCache
		if o.cacheDir != "" {
			cache = authorcache.Open(filepath.Join(o.cacheDir, "authors"))
		}
		if err := releasenotes.MarkFirstTime(ctx, repo, notes, cache); err != nil {
			return releaseNotesError(err)
		}
	}
	if o.gh != nil {
		if err := o.gh.Enrich(ctx, notes); err != nil {
			return releaseNotesError(err)
		}
	}
	markdown, err := templates.ReleaseNotes(o.tmpl, o.tmplName, notes, notes.Repository)
	if err != nil {
		if o.tmpl != nil {
			return inputError(err, "the template's data is what --format json prints, with Go field names")
		}
		return err
	}
	out := releaseNotesOutput{SchemaVersion: jsonSchemaVersion, Notes: notes}
	if o.publish {
		if notes.Tag == "" {
			return inputError(errors.New("--publish needs a release tag"), "tag --to with a release tag, or name it with --tag")
		}
		v, _ := semver.Parse(notes.Version)
		if out.Release, err = o.gh.Publish(ctx, notes.Tag, notes.Tag, string(markdown), v.Prerelease()); err != nil {
			return releaseNotesError(err)
		}
		verb := "updated"
		if out.Release.Created {
			verb = "created"
		}
		w.notef("%s the GitHub Release %s: %s", verb, notes.Tag, out.Release.URL)
	}
	var data []byte
	if o.format == "json" {
		var buf strings.Builder
		if err := writeJSON(&buf, out); err != nil {
			return err
		}
		data = []byte(buf.String())
	} else {
		data = markdown
	}
	if o.output != "" {
		if err := writeOutput(o.output, data, o.force); err != nil {
			return err
		}
	} else if _, err := w.env.Stdout.Write(data); err != nil {
		return err
	}
	if o.strict && len(notes.NonConventional) > 0 {
		for _, e := range notes.NonConventional {
			fmt.Fprintf(w.env.Stderr, "warden: not a conventional commit: %s %s\n", e.ShortHash, e.Subject)
		}
		return &exitError{code: ExitGate, err: fmt.Errorf("%d commit%s not conventional (--strict)", len(notes.NonConventional), plural(len(notes.NonConventional))),
			hint: "write subjects as `type(scope): description`, e.g. `fix(api): reject empty names`"}
	}
	return nil
}

func cacheSub(dir, sub string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, sub)
}

// releaseNotesError maps the errors of the release-notes packages to exit
// codes: what the user can fix is an input error.
func releaseNotesError(err error) error {
	var (
		refErr   *history.RefError
		shallow  *history.ShallowError
		cfgErr   *releasenotes.ConfigError
		authErr  *githubapi.AuthError
		rateErr  *githubapi.RateLimitError
		exitErr  *exitError
		notFound = errors.Is(err, history.ErrNotRepository)
	)
	switch {
	case errors.As(err, &exitErr):
		return err
	case errors.Is(err, context.Canceled):
		return &exitError{code: ExitInput, err: errors.New("interrupted")}
	case notFound:
		return inputError(err, "run inside a git repository or pass --repo DIR")
	case errors.As(err, &refErr):
		return inputError(err, "")
	case errors.As(err, &shallow), errors.As(err, &cfgErr), errors.As(err, &authErr),
		errors.Is(err, history.ErrTagPattern), errors.Is(err, githubapi.ErrRepoName):
		return &exitError{code: ExitInput, err: err}
	case errors.As(err, &rateErr):
		return &exitError{code: ExitInternal, err: err}
	}
	return err
}
