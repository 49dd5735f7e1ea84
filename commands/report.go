package commands

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/atomicfile"
	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/password"
	"github.com/warden-sec/warden/core/report"
	"github.com/warden-sec/warden/core/statedir"
	"github.com/warden-sec/warden/templates"
)

func (w *wiring) reportCommand() *cli.Command {
	return &cli.Command{
		Name:  "report",
		Usage: "compliance evidence for SOC 2 and ISO 27001 from the live state (HTML, Markdown, JSON, CSV); verify it; incident playbooks",
		Description: "warden report collects evidence (audit findings and score, the audit log's chain and events over\n" +
			"--period, users and stale accounts, policies in force, secrets at rest, TLS, and with --deps-json\n" +
			"and --release-notes-json the last dependency scan and release notes), rolls it up per control to\n" +
			"PASS, FAIL, EXCEPTION (a suppression or a --waivers entry, with reason and expiry) or MANUAL,\n" +
			"and writes one file (docs/report.md).\n" +
			"It changes nothing in the state dir and records nothing in the audit log.\n\n" +
			"warden report verify FILE    re-checks a report's integrity block (audit log head, config and\n" +
			"                             findings hashes, the report's MAC) against the current state;\n" +
			"                             exit 1 when it differs\n" +
			"warden report playbook       lists the incident response playbooks\n" +
			"warden report playbook NAME  prints one (Markdown)\n\n" +
			"Exit codes: 0 ok, 1 --fail-on-fail and a control FAILs, or verify found a difference, 2 bad input.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "framework", Value: "all", Usage: "soc2, iso27001 or all", EnvVars: []string{"WARDEN_REPORT_FRAMEWORK"}},
			formatFlag("WARDEN_REPORT_FORMAT", "html", "markdown", "json", "csv"),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, TakesFile: true, Usage: "write the report to `FILE` (atomically); default stdout", EnvVars: []string{"WARDEN_REPORT_OUTPUT"}},
			&cli.StringFlag{Name: "period", Value: "90d", Usage: "how far back the log evidence reaches: `N`d or a duration such as 720h", EnvVars: []string{"WARDEN_REPORT_PERIOD"}},
			&cli.BoolFlag{Name: "redact", Usage: "pseudonymise usernames (stable per audit key)", EnvVars: []string{"WARDEN_REPORT_REDACT"}},
			&cli.BoolFlag{Name: "fail-on-fail", Usage: "exit 1 when a control FAILs (after writing the report)", EnvVars: []string{"WARDEN_REPORT_FAIL_ON_FAIL"}},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "print a summary on stderr", EnvVars: []string{"WARDEN_REPORT_VERBOSE"}},
			&cli.StringFlag{Name: "deps-json", TakesFile: true, Usage: "evidence from `FILE`, the output of `warden deps scan --format json`", EnvVars: []string{"WARDEN_REPORT_DEPS_JSON"}},
			&cli.StringFlag{Name: "waivers", TakesFile: true, Usage: "accept FAILing or MANUAL controls listed in `FILE` (YAML: control, reason, expires)", EnvVars: []string{"WARDEN_REPORT_WAIVERS"}},
			&cli.StringFlag{Name: "release-notes-json", TakesFile: true, Usage: "evidence from `FILE`, the output of `warden release-notes --format json`", EnvVars: []string{"WARDEN_REPORT_RELEASE_NOTES_JSON"}},
		},
		Action: w.report,
		Subcommands: []*cli.Command{
			{
				Name:      "verify",
				Usage:     "re-check a report's integrity block against the current state; exit 1 when it differs",
				ArgsUsage: "FILE",
				Flags:     []cli.Flag{resultFormatFlag()},
				Action:    w.reportVerify,
			},
			{
				Name:      "playbook",
				Aliases:   []string{"playbooks"},
				Usage:     "list the incident response playbooks, or print one (Markdown)",
				ArgsUsage: "[NAME]",
				Flags: []cli.Flag{&cli.StringFlag{Name: "format", Aliases: []string{"f"}, EnvVars: []string{"WARDEN_PLAYBOOK_FORMAT"},
					Usage: "output format, by default a table for the list and Markdown for one playbook: table, markdown, json"}},
				Action: w.reportPlaybook,
			},
		},
	}
}

// reportOptions are the parsed flags of `warden report`.
type reportOptions struct {
	framework    string
	format       string
	output       string
	period       time.Duration
	redact       bool
	failOnFail   bool
	verbose      bool
	depsJSON     string
	releaseNotes string
	waivers      string
	// live: look for the running gateway (verify does not need it).
	live bool
}

func (w *wiring) reportOptions(c *cli.Context) (*reportOptions, error) {
	f := "html" // an empty WARDEN_REPORT_FORMAT keeps the default
	if c.String("format") != "" {
		var err error
		if f, err = format(c, "html", "markdown", "json", "csv"); err != nil {
			return nil, err
		}
	}
	o := &reportOptions{framework: c.String("framework"), format: f, output: c.String("output"), redact: c.Bool("redact"),
		failOnFail: c.Bool("fail-on-fail"), verbose: c.Bool("verbose"), depsJSON: c.String("deps-json"), releaseNotes: c.String("release-notes-json"),
		waivers: c.String("waivers"), live: true}
	switch o.framework {
	case "":
		o.framework = "all"
	case "soc2", "iso27001", "all":
	default:
		return nil, usageErrorf("--framework %q is not one of soc2, iso27001, all", o.framework)
	}
	period := c.String("period")
	if period == "" {
		period = "90d"
	}
	var err error
	if o.period, err = parsePeriod(period); err != nil {
		return nil, usageErrorf("--period %q: %v", c.String("period"), err)
	}
	return o, nil
}

// parsePeriod reads 90d, 12w or a Go duration; it must be positive.
func parsePeriod(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil {
			return 0, errors.New("not a number of days such as 90d")
		}
		d = time.Duration(v) * 24 * time.Hour
	} else if n, ok := strings.CutSuffix(s, "w"); ok {
		v, err := strconv.Atoi(n)
		if err != nil {
			return 0, errors.New("not a number of weeks such as 12w")
		}
		d = time.Duration(v) * 7 * 24 * time.Hour
	} else {
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, errors.New("not a period such as 90d, 12w or 720h")
		}
		d = v
	}
	if d <= 0 {
		return 0, errors.New("must be positive")
	}
	return d, nil
}

func (w *wiring) report(c *cli.Context) error {
	if c.Args().Present() {
		// report has subcommands: an argument is one mistyped.
		return unknownCommand(c, c.Args().First())
	}
	o, err := w.reportOptions(c)
	if err != nil {
		return err
	}
	st, err := w.collectReport(c, o)
	if err != nil {
		return err
	}
	rep, err := report.Build(st.in)
	if err != nil {
		return err
	}
	data, err := renderSealed(o.format, rep, w.env.Build.Version, st.auditKey)
	if err != nil {
		return err
	}
	if o.output == "" {
		if _, err := w.env.Stdout.Write(data); err != nil {
			return err
		}
	} else if err := atomicfile.Write(o.output, data, atomicfile.Options{Mode: 0o600}); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fails := rep.Summary.ByStatus[report.Fail]
	if o.verbose {
		where := "stdout"
		if o.output != "" {
			where = o.output
		}
		w.notef("report (%s, %s, %s) written to %s: %d controls: %d pass, %d fail, %d exception, %d manual",
			o.framework, o.format, report.HumanDuration(o.period), where, rep.Summary.Controls, rep.Summary.ByStatus[report.Pass], fails,
			rep.Summary.ByStatus[report.Exception], rep.Summary.ByStatus[report.Manual])
	}
	if o.failOnFail && fails > 0 {
		var ids []string
		for _, cr := range rep.Controls {
			if cr.Status == report.Fail {
				ids = append(ids, cr.ID)
			}
		}
		fmt.Fprintf(w.env.Stderr, "warden: report: %d control%s FAIL: %s\n", fails, plural(fails), strings.Join(ids, ", "))
		return gateFailed(fmt.Errorf("%d controls fail", fails))
	}
	return nil
}

// gatewayProbeTimeout bounds each /healthz probe of a running gateway.
const gatewayProbeTimeout = 2 * time.Second

// reportState is the live state a report and its verification read.
type reportState struct {
	in       report.Input
	auditKey []byte
}

// collectReport gathers the evidence. It never creates or changes
// anything in the state dir: a missing audit log or secret store is
// evidence, not an error.
func (w *wiring) collectReport(c *cli.Context, o *reportOptions) (*reportState, error) {
	ctx := c.Context
	ao := &auditOptions{format: "json", failUnder: -1, timeout: 5 * time.Second, dirMode: 0o700, fileMode: 0o600}
	arep, ain, err := w.runAudit(c, ao)
	if err != nil {
		return nil, err
	}
	now := w.env.Now()
	st := &reportState{in: report.Input{Now: now, Period: o.period, Framework: o.framework, Audit: arep,
		Config: ain.Config.Config, ConfigFile: ain.Config.File, Playbooks: templates.Playbooks()}}
	in := &st.in
	if in.ConfigHash, err = configHash(ain.Config.File); err != nil {
		return nil, err
	}
	kr, err := w.keyring(c)
	if err != nil {
		return nil, err
	}
	sess := &session{keyring: kr, config: ain.Config, stateDir: ain.StateDir}
	store := sess.secretStore(w)
	in.Secrets = report.SecretsStatus{Path: store.Path(), Exists: store.Exists()}
	if in.Secrets.Exists {
		if in.Secrets.Recipients, err = store.Recipients(); err != nil {
			in.Secrets.Err = err
		}
		names, err := store.Names()
		if err != nil && in.Secrets.Err == nil {
			in.Secrets.Err = err
		}
		in.Secrets.Names = len(names)
	}
	if _, err := os.Stat(filepath.Join(ain.StateDir, statedir.DatabaseFile)); err != nil || !in.Secrets.Exists {
		in.UsersErr = errors.New("no state in " + ain.StateDir)
		if in.Secrets.Exists {
			in.UsersErr = errors.New("no database in " + ain.StateDir)
		}
		in.Log.Populations, in.Log.Daily, _ = report.CountEvents(ctx, emptyLog{}, now.Add(-o.period), now)
	} else {
		a, err := w.openAudit(ctx, c, sess, false)
		if err != nil {
			return nil, err
		}
		defer a.Close()
		if st.auditKey, err = w.auditKey(ctx, a.secrets, a.db, false); err != nil {
			return nil, err
		}
		if err := collectLog(ctx, a.log, in, now.Add(-o.period), now); err != nil {
			in.LogErr = err
		}
		if o.live {
			// The address the gateway listens on is in its gateway.start
			// entry; /healthz on this host says whether it still runs.
			// Nothing found is no error: the report is about the state.
			if in.Gateways, err = report.OpenGateways(ctx, a.log); err == nil {
				report.ProbeGateways(ctx, in.Gateways, gatewayProbeTimeout)
			}
		}
		in.Users, in.UsersErr = listUsers(ctx, a, w.env.Now)
	}
	if o.redact {
		key := st.auditKey
		if key == nil {
			key = make([]byte, 32)
			_, _ = rand.Read(key)
		}
		in.Pseudonym = func(name string) string {
			m := hmac.New(sha256.New, key)
			m.Write([]byte("warden report pseudonym\x00" + name))
			return "user-" + hex.EncodeToString(m.Sum(nil))[:10]
		}
	}
	if o.depsJSON != "" {
		if in.Deps, err = readDepsScan(o.depsJSON); err != nil {
			return nil, err
		}
	}
	if o.releaseNotes != "" {
		if in.ReleaseNotes, err = readReleaseNotes(o.releaseNotes); err != nil {
			return nil, err
		}
	}
	if o.waivers != "" {
		if in.Waivers, err = readWaivers(o.waivers); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// renderSealed renders the report and, when the state has an audit key
// and the format carries an integrity block, seals it with its MAC.
func renderSealed(format string, rep *report.Report, version string, key []byte) ([]byte, error) {
	if key == nil || format == "csv" {
		return renderReport(format, rep, version)
	}
	rep.Integrity.ReportMAC = report.MACPlaceholder
	data, err := renderReport(format, rep, version)
	if err != nil {
		return nil, err
	}
	rep.Integrity.ReportMAC = report.MAC(key, data)
	return bytes.ReplaceAll(data, []byte(report.MACPlaceholder), []byte(rep.Integrity.ReportMAC)), nil
}

// checkMAC reports what is wrong with a report's MAC ("" when it holds).
func checkMAC(data []byte, want report.Integrity, key []byte) string {
	switch {
	case want.ReportMAC == "" && key == nil:
		return ""
	case want.ReportMAC == "":
		return "the report carries no MAC, though the state has an audit key: it was not written by warden report here"
	case key == nil:
		return "the report carries a MAC but the state has no audit key to check it with"
	}
	doc := bytes.ReplaceAll(data, []byte(want.ReportMAC), []byte(report.MACPlaceholder))
	if !hmac.Equal([]byte(report.MAC(key, doc)), []byte(want.ReportMAC)) {
		return "the report's MAC does not match: the file was edited after warden report wrote it"
	}
	return ""
}

type emptyLog struct{}

func (emptyLog) Each(context.Context, uint64, time.Time, func(auditlog.Entry) error) error {
	return nil
}

// collectLog verifies the chain and counts the period's events.
func collectLog(ctx context.Context, lg *auditlog.Log, in *report.Input, since, until time.Time) error {
	in.Log.Present = true
	v, err := lg.Verify(ctx, runtime.NumCPU())
	if err != nil {
		return err
	}
	in.Log.Verified, in.Log.Entries, in.Log.First = v.OK, v.Entries, v.First
	if v.Break != nil {
		in.Log.Break = v.Break.Error()
	}
	h, err := lg.Head(ctx)
	if err != nil {
		return err
	}
	in.Log.HeadSeq, in.Log.HeadHash = h.Seq, hex.EncodeToString(h.Hash)
	in.Log.Populations, in.Log.Daily, err = report.CountEvents(ctx, lg, since, until)
	return err
}

// listUsers reads the users through the identity service. Listing needs
// no signing key, so when the store holds none an ephemeral one stands in
// and nothing is written.
func listUsers(ctx context.Context, a *auditSession, now func() time.Time) ([]auth.User, error) {
	all, err := a.secrets.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	key := func(name string, size int) []byte {
		if v, ok := all[name]; ok {
			if k, err := base64.RawURLEncoding.DecodeString(v); err == nil && len(k) == size {
				return k
			}
		}
		k := make([]byte, size)
		_, _ = rand.Read(k)
		return k
	}
	svc, err := auth.New(auth.Options{DB: a.db, Audit: a.log, AccessKey: key(accessKeySecret, auth.KeySize), TOTPKey: key(totpKeySecret, 32),
		Hasher: password.NewHasher(password.Default(), 0), Now: now})
	if err != nil {
		return nil, err
	}
	return svc.ListUsers(ctx)
}

// configHash is the SHA-256 of the config file as written ("defaults"
// for the embedded defaults).
func configHash(path string) (string, error) {
	if path == "" {
		return "defaults", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", inputError(fmt.Errorf("read config: %w", err), "")
	}
	return report.HashBytes(data), nil
}

func readJSONFile(path, flag, from string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", flag, err), "")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return inputError(fmt.Errorf("%s %s: not JSON: %v", flag, path, err), "pass the output of `"+from+" --format json`")
	}
	return nil
}

func readDepsScan(path string) (*report.DepsScan, error) {
	var doc struct {
		SchemaVersion int            `json:"schemaVersion"`
		Packages      *int           `json:"packages"`
		Counts        map[string]int `json:"severityCounts"`
		Findings      []struct {
			Severity string `json:"severity"`
		} `json:"findings"`
		Databases []struct {
			ImportedAt time.Time `json:"importedAt"`
		} `json:"databases"`
	}
	if err := readJSONFile(path, "--deps-json", "warden deps scan", &doc); err != nil {
		return nil, err
	}
	if doc.SchemaVersion != 1 || doc.Packages == nil {
		return nil, inputError(fmt.Errorf("--deps-json %s: not the output of `warden deps scan --format json` (schemaVersion 1 with packages)", path), "")
	}
	d := &report.DepsScan{Source: filepath.Base(path), Packages: *doc.Packages, Findings: map[string]int{}, Total: len(doc.Findings)}
	for _, f := range doc.Findings {
		d.Findings[strings.ToLower(f.Severity)]++
	}
	var newest time.Time
	for _, db := range doc.Databases {
		if db.ImportedAt.After(newest) {
			newest = db.ImportedAt
		}
	}
	d.Imported = newest
	return d, nil
}

func readReleaseNotes(path string) (*report.ReleaseNotes, error) {
	var doc struct {
		SchemaVersion int    `json:"schemaVersion"`
		Tag           string `json:"tag"`
		Version       string `json:"version"`
		PreviousTag   string `json:"previousTag"`
		From          string `json:"from"`
		To            *string
		Commits       int               `json:"commits"`
		Breaking      []json.RawMessage `json:"breaking"`
		Security      []json.RawMessage `json:"security"`
		Sections      []struct {
			Entries []json.RawMessage `json:"entries"`
		} `json:"sections"`
	}
	if err := readJSONFile(path, "--release-notes-json", "warden release-notes", &doc); err != nil {
		return nil, err
	}
	if doc.SchemaVersion != 1 || doc.To == nil {
		return nil, inputError(fmt.Errorf("--release-notes-json %s: not the output of `warden release-notes --format json` (schemaVersion 1 with to)", path), "")
	}
	n := &report.ReleaseNotes{Source: filepath.Base(path), Version: doc.Version, Breaking: len(doc.Breaking), Security: len(doc.Security)}
	if n.Version == "" {
		n.Version = doc.Tag
	}
	from := doc.PreviousTag
	if from == "" {
		from = doc.From
	}
	to := doc.Tag
	if to == "" {
		to = *doc.To
		if len(to) > 12 {
			to = to[:12]
		}
	}
	if from != "" {
		n.Range = from + ".." + to
	} else {
		n.Range = to
	}
	for _, s := range doc.Sections {
		n.Changes += len(s.Entries)
	}
	return n, nil
}

// readWaivers reads a waivers file:
//
//	waivers:
//	  - control: CC9.2
//	    reason: vendor assurance reports on file, reviewed 2026-10
//	    expires: 2027-03-31
//
// Every field is required; an unknown key or control is an error.
func readWaivers(path string) ([]report.ControlWaiver, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, inputError(fmt.Errorf("--waivers: %w", err), "")
	}
	var doc struct {
		Waivers []struct {
			Control string `yaml:"control"`
			Reason  string `yaml:"reason"`
			Expires string `yaml:"expires"`
		} `yaml:"waivers"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, inputError(fmt.Errorf("--waivers %s: %v", path, err), "see docs/report.md for the format")
	}
	var out []report.ControlWaiver
	for i, w := range doc.Waivers {
		where := fmt.Sprintf("--waivers %s: waivers[%d]", path, i)
		if _, ok := report.LookupControl(w.Control); !ok {
			return nil, inputError(fmt.Errorf("%s: unknown control %q", where, w.Control), "the controls are listed in docs/report.md")
		}
		if strings.TrimSpace(w.Reason) == "" {
			return nil, inputError(fmt.Errorf("%s (%s): a reason is required", where, w.Control), "")
		}
		exp, err := time.Parse(time.DateOnly, w.Expires)
		if err != nil {
			return nil, inputError(fmt.Errorf("%s (%s): expires %q is not a date such as 2027-03-31", where, w.Control, w.Expires), "every waiver lapses; renew it after a review")
		}
		out = append(out, report.ControlWaiver{Control: w.Control, Reason: w.Reason, Expires: exp})
	}
	return out, nil
}

// reportVerify re-checks a report's integrity block against the state.
// verifyReportResult is what report verify prints under --format json:
// the integrity block the report carries, the state's now, and every
// difference (none when it matches).
type verifyReportResult struct {
	SchemaVersion int    `json:"schemaVersion"`
	File          string `json:"file"`
	Matches       bool   `json:"matches"`
	// MAC is verified, or absent when neither the report nor the state
	// has one; a MAC that does not check out is a difference.
	MAC         string             `json:"mac"`
	Report      report.Integrity   `json:"report"`
	Current     report.Integrity   `json:"current"`
	Differences []reportDifference `json:"differences"`
}

// reportDifference is one way a report differs from the current state.
type reportDifference struct {
	// Part is mac, auditLogHead, config or findings.
	Part   string `json:"part"`
	Detail string `json:"detail"`
}

func (w *wiring) reportVerify(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("report verify takes one FILE")
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	file := c.Args().First()
	data, err := os.ReadFile(file)
	if err != nil {
		return inputError(fmt.Errorf("read report: %w", err), "")
	}
	want, err := extractIntegrity(data)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", file, err), "verify reads the HTML, Markdown or JSON of `warden report`; CSV carries no integrity block")
	}
	o := &reportOptions{framework: "all", period: 24 * time.Hour}
	st, err := w.collectReport(c, o)
	if err != nil {
		return err
	}
	rep, err := report.Build(st.in)
	if err != nil {
		return err
	}
	got := rep.Integrity
	res := verifyReportResult{SchemaVersion: jsonSchemaVersion, File: file, Report: want, Current: got, Differences: []reportDifference{}}
	differ := func(part, detail string) {
		res.Differences = append(res.Differences, reportDifference{Part: part, Detail: detail})
	}
	res.MAC = "verified"
	if d := checkMAC(data, want, st.auditKey); d != "" {
		differ("mac", d)
		res.MAC = "mismatch"
		if st.auditKey == nil {
			res.MAC = "unchecked"
		}
	}
	if want.ReportMAC == "" {
		res.MAC = "absent"
	}
	if got.AuditHeadSeq != want.AuditHeadSeq || got.AuditHeadHash != want.AuditHeadHash {
		differ("auditLogHead", fmt.Sprintf("audit log head: report has seq %d %s, the log now has seq %d %s",
			want.AuditHeadSeq, short(want.AuditHeadHash), got.AuditHeadSeq, short(got.AuditHeadHash)))
	}
	if got.ConfigHash != want.ConfigHash {
		differ("config", fmt.Sprintf("config: report has %s (%s), now %s (%s)", short(want.ConfigHash), orDash(want.ConfigFile), short(got.ConfigHash), orDash(got.ConfigFile)))
	}
	if got.FindingsHash != want.FindingsHash {
		differ("findings", fmt.Sprintf("audit findings: report has %s, now %s (run `warden audit` to see them)", short(want.FindingsHash), short(got.FindingsHash)))
	}
	res.Matches = len(res.Differences) == 0
	if f == "json" {
		if err := writeJSON(w.env.Stdout, res); err != nil {
			return err
		}
	} else {
		w.printReportVerify(res)
	}
	if !res.Matches {
		return gateFailed(errors.New("the report does not match the current state"))
	}
	return nil
}

// printReportVerify prints the outcome of report verify as text: the
// match on stdout, or each difference on stderr.
func (w *wiring) printReportVerify(res verifyReportResult) {
	for _, d := range res.Differences {
		fmt.Fprintf(w.env.Stderr, "warden: report verify: %s\n", d.Detail)
	}
	if !res.Matches {
		return
	}
	sealed := "no MAC (no audit key)"
	if res.MAC == "verified" {
		sealed = "MAC verified"
	}
	fmt.Fprintf(w.env.Stdout, "%s matches the current state: audit log head seq %d, config %s, findings %s, %s\n",
		res.File, res.Current.AuditHeadSeq, short(res.Current.ConfigHash), short(res.Current.FindingsHash), sealed)
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "-"
	}
	return h
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// playbookList is what report playbook prints as JSON without a NAME.
type playbookList struct {
	SchemaVersion int            `json:"schemaVersion"`
	Playbooks     []playbookInfo `json:"playbooks"`
}

type playbookInfo struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

// playbookDoc is one playbook as JSON: its Markdown as the text prints it.
type playbookDoc struct {
	SchemaVersion int `json:"schemaVersion"`
	playbookInfo
	Markdown string `json:"markdown"`
}

// reportPlaybook lists the playbooks (table or json), or prints one
// (markdown or json).
func (w *wiring) reportPlaybook(c *cli.Context) error {
	names := templates.Playbooks()
	switch c.NArg() {
	case 0:
		f, err := format(c, "table", "json")
		if err != nil {
			return err
		}
		list := playbookList{SchemaVersion: jsonSchemaVersion, Playbooks: make([]playbookInfo, 0, len(names))}
		rows := make([][]string, 0, len(names))
		for _, n := range names {
			title, err := templates.PlaybookTitle(n)
			if err != nil {
				return err
			}
			list.Playbooks = append(list.Playbooks, playbookInfo{Name: n, Title: title})
			rows = append(rows, []string{n, title})
		}
		if f == "json" {
			return writeJSON(w.env.Stdout, list)
		}
		return writeTable(w.env.Stdout, []string{"NAME", "TITLE"}, rows)
	case 1:
		f, err := format(c, "markdown", "json")
		if err != nil {
			return err
		}
		name := c.Args().First()
		text, err := templates.Playbook(name)
		if errors.Is(err, fs.ErrNotExist) {
			return usageErrorf("no playbook %q; the playbooks are %s", name, strings.Join(names, ", "))
		}
		if err != nil {
			return err
		}
		if f == "json" {
			title, err := templates.PlaybookTitle(name)
			if err != nil {
				return err
			}
			return writeJSON(w.env.Stdout, playbookDoc{SchemaVersion: jsonSchemaVersion, playbookInfo: playbookInfo{Name: name, Title: title}, Markdown: string(text)})
		}
		_, err = w.env.Stdout.Write(text)
		return err
	}
	return usageErrorf("report playbook takes at most one NAME")
}
