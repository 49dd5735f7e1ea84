package commands

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/auditfwd"
	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/events"
)

func (w *wiring) logCommand() *cli.Command {
	return &cli.Command{
		Name:  "log",
		Usage: "verify, search, export and purge the tamper-evident audit log",
		Subcommands: []*cli.Command{
			{
				Name:  "verify",
				Usage: "check the hash chain and name the first broken entry; exit 1 when broken",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "file", Usage: "verify a JSON Lines export instead of the database", TakesFile: true, EnvVars: []string{"WARDEN_VERIFY_FILE"}},
					&cli.StringFlag{Name: "checkpoint", Usage: "also check the log against the signed checkpoints in this file", TakesFile: true, EnvVars: []string{"WARDEN_VERIFY_CHECKPOINT"}},
					&cli.StringFlag{Name: "public-key", Usage: "the checkpoint signing key (hex) to trust (default: the one in the secret store)", EnvVars: []string{"WARDEN_CHECKPOINT_PUBLIC_KEY"}},
					formatFlag("WARDEN_LOG_FORMAT", "text", "json"),
				},
				Action: w.logVerify,
			},
			{
				Name:      "search",
				Usage:     "full-text search of the audit log, newest first (a word that names a group, such as secrets, also finds that group's actions)",
				ArgsUsage: "[QUERY...]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "since", Usage: "only entries at or after this time (RFC 3339, YYYY-MM-DD, or an age such as 24h or 7d)", EnvVars: []string{"WARDEN_LOG_SINCE"}},
					&cli.StringFlag{Name: "until", Usage: "only entries before this time (same forms as --since)", EnvVars: []string{"WARDEN_LOG_UNTIL"}},
					&cli.StringFlag{Name: "actor", Usage: "only this actor, e.g. user:alice or cli:root", EnvVars: []string{"WARDEN_LOG_ACTOR"}},
					&cli.StringFlag{Name: "action", Usage: "only this action (secret.set), a group (secrets, secret.*) or a family (token.auth*)", EnvVars: []string{"WARDEN_LOG_ACTION"}},
					&cli.IntFlag{Name: "limit", Value: 50, Usage: "at most this many entries", EnvVars: []string{"WARDEN_LOG_LIMIT"}},
					formatFlag("WARDEN_LOG_FORMAT", "table", "json"),
				},
				Action: w.logSearch,
			},
			{
				Name:  "export",
				Usage: "write entries with their hashes as JSON Lines, for another system to keep and re-verify",
				Flags: []cli.Flag{
					formatFlag("WARDEN_EXPORT_FORMAT", "jsonl"),
					&cli.StringFlag{Name: "since", Usage: "only entries at or after this time (RFC 3339, YYYY-MM-DD, or an age such as 7d)", EnvVars: []string{"WARDEN_LOG_SINCE"}},
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to this file (mode 0600) instead of stdout", TakesFile: true, EnvVars: []string{"WARDEN_EXPORT_OUTPUT"}},
					&cli.BoolFlag{Name: "force", Usage: "replace an existing output file", EnvVars: []string{"WARDEN_FORCE"}},
				},
				Action: w.logExport,
			},
			{
				Name:  "purge",
				Usage: "apply retention (security.audit.retention_days and max_entries) now",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "dry-run", Usage: "show what would be purged without purging", EnvVars: []string{"WARDEN_DRY_RUN"}},
					resultFormatFlag(),
				},
				Action: w.logPurge,
			},
			{
				Name:  "checkpoint",
				Usage: "sign the current head of the log (keep the output somewhere else)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "append the checkpoint to this file (created 0600) instead of printing it", TakesFile: true, EnvVars: []string{"WARDEN_CHECKPOINT_OUTPUT"}},
					&cli.BoolFlag{Name: "public-key", Usage: "print the signing key's public half (hex) to give to verifiers", EnvVars: []string{"WARDEN_CHECKPOINT_PRINT_KEY"}},
					resultFormatFlag(),
				},
				Action: w.logCheckpoint,
			},
			{
				Name:  "forward",
				Usage: "send entries to the syslog and HTTP destinations of security.audit.forward (--format json reports one run; --follow prints no result)",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "follow", Usage: "keep forwarding new entries until interrupted", EnvVars: []string{"WARDEN_FORWARD_FOLLOW"}},
					&cli.DurationFlag{Name: "interval", Value: 2 * time.Second, Usage: "with --follow, how often to look for new entries", EnvVars: []string{"WARDEN_FORWARD_INTERVAL"}},
					resultFormatFlag(),
				},
				Action: w.logForward,
			},
			{
				Name:   "status",
				Usage:  "show the log's range, head hash, search index and forwarding position",
				Flags:  []cli.Flag{formatFlag("WARDEN_LOG_FORMAT", "text", "json")},
				Action: w.logStatus,
			},
		},
	}
}

// parseWhen reads an absolute time or an age ("24h", "7d" ago).
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, err := config.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, usageErrorf("%q is not a time (use RFC 3339, YYYY-MM-DD, or an age such as 24h or 7d)", s)
}

// openLog opens the config, state dir and audit log for a log command.
func (w *wiring) openLog(c *cli.Context, create bool) (*auditSession, error) {
	sess, err := w.open(c.Context, c)
	if err != nil {
		return nil, err
	}
	return w.openAudit(c.Context, c, sess, create)
}

type verifyOutput struct {
	SchemaVersion int    `json:"schemaVersion"`
	Source        string `json:"source"`
	auditlog.Report
	Checkpoints int `json:"checkpoints"`
}

func (w *wiring) logVerify(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	ctx := c.Context
	a, err := w.openLog(c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	out := verifyOutput{SchemaVersion: jsonSchemaVersion, Source: a.db.Path()}
	if file := c.String("file"); file != "" {
		if c.String("checkpoint") != "" {
			return usageErrorf("--checkpoint checks the database; it cannot be combined with --file")
		}
		key, err := w.auditKey(ctx, a.secrets, a.db, false)
		if err != nil {
			return err
		}
		fh, err := os.Open(file)
		if err != nil {
			return inputError(err, "")
		}
		defer fh.Close()
		out.Source = file
		if out.Report, err = auditlog.VerifyExport(fh, key); err != nil {
			return inputError(err, "")
		}
	} else {
		if out.Report, err = a.log.Verify(ctx, runtime.NumCPU()); err != nil {
			return err
		}
		if cp := c.String("checkpoint"); cp != "" && out.Break == nil {
			n, brk, notes, err := w.checkCheckpoints(c, a, cp)
			if err != nil {
				return err
			}
			out.Checkpoints, out.Break = n, brk
			out.Notes = append(out.Notes, notes...)
			out.OK = brk == nil
		}
		outcome := auditlog.OutcomeSuccess
		details := map[string]any{"entries": out.Entries, "checkpoints": out.Checkpoints}
		if out.Break != nil {
			outcome = auditlog.OutcomeFailure
			details["broken_at"], details["kind"] = out.Break.Seq, out.Break.Kind
		}
		if err := a.record(ctx, "audit.verify", "audit_log", outcome, details); err != nil {
			return err
		}
	}
	if f == "json" {
		if err := writeJSON(w.env.Stdout, out); err != nil {
			return err
		}
	} else {
		w.printVerify(out)
	}
	if !out.OK {
		return gateFailed(out.Break)
	}
	return nil
}

func (w *wiring) printVerify(out verifyOutput) {
	o := w.env.Stdout
	if out.OK {
		switch {
		case out.Entries == 0:
			fmt.Fprintf(o, "%s: the audit log is empty\n", out.Source)
		default:
			fmt.Fprintf(o, "%s: verified %d entries (seq %d to %d), chain intact", out.Source, out.Entries, out.First, out.Last)
			if out.Purges > 0 {
				fmt.Fprintf(o, ", %d retention purge%s", out.Purges, plural(out.Purges))
			}
			if out.Checkpoints > 0 {
				fmt.Fprintf(o, ", %d checkpoint%s match", out.Checkpoints, plural(out.Checkpoints))
			}
			fmt.Fprintf(o, "\nhead %d %s\n", out.Last, out.HeadHash)
		}
		if s := out.Sealed; s != nil && s.Seq > 0 {
			// Behind the head only when a commit stopped between writing
			// its entries and sealing them; the next commit catches up.
			fmt.Fprintf(o, "sealed %d %s\n", s.Seq, s.Hash)
		}
	} else {
		fmt.Fprintf(o, "%s: BROKEN at seq %d: %s (%s)\n", out.Source, out.Break.Seq, out.Break.Reason, out.Break.Kind)
	}
	for _, n := range out.Notes {
		fmt.Fprintf(w.env.Stderr, "warden: note: %s\n", n)
	}
}

// checkCheckpoints verifies every checkpoint in file (one JSON object per
// line) and compares the log with each.
func (w *wiring) checkCheckpoints(c *cli.Context, a *auditSession, file string) (int, *auditlog.Break, []string, error) {
	ctx := c.Context
	var pub ed25519.PublicKey
	if hexKey := c.String("public-key"); hexKey != "" {
		b, err := hex.DecodeString(hexKey)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return 0, nil, nil, usageErrorf("--public-key must be %d hex-encoded bytes", ed25519.PublicKeySize)
		}
		pub = b
	} else {
		priv, err := w.checkpointKey(ctx, a.secrets)
		if err != nil {
			return 0, nil, nil, err
		}
		pub = priv.Public().(ed25519.PublicKey)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, nil, nil, inputError(err, "")
	}
	var notes []string
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		cp, err := auditlog.ParseCheckpoint([]byte(text), pub)
		if err != nil {
			return n, nil, nil, inputError(fmt.Errorf("%s:%d: %w", file, line, err), "a checkpoint that fails its signature was forged or damaged")
		}
		brk, cpNotes, err := a.log.CheckAgainst(ctx, cp)
		if err != nil {
			return n, nil, nil, err
		}
		notes = append(notes, cpNotes...)
		if brk != nil {
			return n, brk, notes, nil
		}
		n++
	}
	if n == 0 && len(notes) == 0 {
		return 0, nil, nil, inputError(fmt.Errorf("%s holds no checkpoint", file), "create one with `warden log checkpoint -o FILE`")
	}
	return n, nil, notes, nil
}

type searchOutput struct {
	SchemaVersion int                 `json:"schemaVersion"`
	Entries       []auditlog.Exported `json:"entries"`
}

func (w *wiring) logSearch(c *cli.Context) error {
	f, err := format(c, "table", "json")
	if err != nil {
		return err
	}
	now := w.env.Now()
	since, err := parseWhen(c.String("since"), now)
	if err != nil {
		return err
	}
	until, err := parseWhen(c.String("until"), now)
	if err != nil {
		return err
	}
	if c.Int("limit") < 1 || c.Int("limit") > 10000 {
		return usageErrorf("--limit %d: use 1 to 10000", c.Int("limit"))
	}
	q := auditlog.Query{Text: strings.Join(c.Args().Slice(), " "), Since: since, Until: until,
		Actor: c.String("actor"), Action: c.String("action"), Limit: c.Int("limit")}
	if err := q.Validate(); err != nil {
		return inputError(err, "")
	}
	if q.Action, err = events.ResolveFilter(q.Action); err != nil {
		return unknownAction(err)
	}
	a, err := w.openLog(c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	entries, err := searchWithGroups(c.Context, a.log, q)
	if err != nil {
		if errors.Is(err, auditlog.ErrQuery) {
			return inputError(err, "")
		}
		return err
	}
	// Recorded before anything is shown: no record, no output.
	if err := a.record(c.Context, "audit.read", "audit_log", auditlog.OutcomeSuccess,
		map[string]any{"query": q.Text, "actor": q.Actor, "action": c.String("action"), "results": len(entries)}); err != nil {
		return err
	}
	if f == "json" {
		out := searchOutput{SchemaVersion: jsonSchemaVersion, Entries: make([]auditlog.Exported, len(entries))}
		for i, e := range entries {
			out.Entries[i] = auditlog.ToExported(e)
		}
		return writeJSON(w.env.Stdout, out)
	}
	if len(entries) == 0 {
		w.notef("no matching entries")
		return nil
	}
	rows := make([][]string, len(entries))
	for i, e := range entries {
		rows[i] = []string{fmt.Sprint(e.Seq), e.Time.UTC().Format(time.RFC3339), e.Actor, e.Action, e.Target, e.Outcome, string(e.Details)}
	}
	return writeTable(w.env.Stdout, []string{"SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAILS"}, rows)
}

// unknownAction is a usage error for an --action that names nothing
// known, with the known names as hints.
func unknownAction(err error) error {
	var ue *events.UnknownActionError
	if !errors.As(err, &ue) {
		return err
	}
	groups, actions := ue.Known()
	return &exitError{code: ExitInput, err: fmt.Errorf("--action: %w", err),
		hint: "groups (each also as GROUP.*): " + strings.Join(groups, ", ") + "\nactions: " + strings.Join(actions, ", ")}
}

// searchWithGroups searches the log for q, where a word of the text that
// names a group of actions (secrets, users, sessions) matches an entry
// that contains the word or whose action is in the group: one search with
// every word as written, and one per group word with that word turned into
// the group's action filter. The results are merged, newest first.
func searchWithGroups(ctx context.Context, l *auditlog.Log, q auditlog.Query) ([]auditlog.Entry, error) {
	entries, err := l.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	words := strings.Fields(q.Text)
	seen := map[string]bool{}
	for i, word := range words {
		g, ok := events.GroupOf(word)
		if !ok || seen[g.Name] {
			continue
		}
		seen[g.Name] = true
		action, ok := events.Intersect(q.Action, g.Filter())
		if !ok {
			continue
		}
		alt := q
		alt.Text = strings.Join(append(slices.Clone(words[:i]), words[i+1:]...), " ")
		alt.Action = action
		more, err := l.Search(ctx, alt)
		if err != nil {
			return nil, err
		}
		entries = mergeNewest(entries, more, q.Limit)
	}
	return entries, nil
}

// mergeNewest merges two newest-first lists without duplicates, keeping
// at most limit entries.
func mergeNewest(a, b []auditlog.Entry, limit int) []auditlog.Entry {
	out := make([]auditlog.Entry, 0, min(len(a)+len(b), limit))
	for len(out) < limit && (len(a) > 0 || len(b) > 0) {
		switch {
		case len(b) == 0 || len(a) > 0 && a[0].Seq > b[0].Seq:
			out, a = append(out, a[0]), a[1:]
		case len(a) == 0 || b[0].Seq > a[0].Seq:
			out, b = append(out, b[0]), b[1:]
		default: // the same entry
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return out
}

func (w *wiring) logExport(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	if _, err := format(c, "jsonl"); err != nil {
		return err
	}
	since, err := parseWhen(c.String("since"), w.env.Now())
	if err != nil {
		return err
	}
	a, err := w.openLog(c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	dest := c.String("output")
	target := "stdout"
	if dest != "" {
		target = dest
	}
	return a.audited(c.Context, "audit.export", target, map[string]any{"since": c.String("since")}, func() error {
		if dest == "" {
			_, err := a.log.Export(c.Context, w.env.Stdout, 0, since)
			return err
		}
		n := 0
		err := writeOutputFrom(dest, func(wr io.Writer) error {
			var err error
			n, err = a.log.Export(c.Context, wr, 0, since)
			return err
		}, c.Bool("force"))
		if err == nil {
			fmt.Fprintf(w.env.Stdout, "exported %d entries to %s (mode 0600)\n", n, dest)
		}
		return err
	})
}

// purgeResult is what log purge prints. Both limits 0 means retention is
// off and nothing was looked at.
type purgeResult struct {
	SchemaVersion int  `json:"schemaVersion"`
	DryRun        bool `json:"dryRun"`
	RetentionDays int  `json:"retentionDays"`
	MaxEntries    int  `json:"maxEntries"`
	// Purged counts the entries deleted (with dryRun, that would be).
	Purged uint64 `json:"purged"`
	// From, To and Reason (age, count, or age and count) describe the
	// range a dry run would purge.
	From   uint64 `json:"from,omitempty"`
	To     uint64 `json:"to,omitempty"`
	Reason string `json:"reason,omitempty"`
	// HeldFor names forwarding destinations whose undelivered entries
	// were kept.
	HeldFor []string `json:"heldFor,omitempty"`
	// DurationMS is how long the purge took (absent when none ran).
	DurationMS *int64 `json:"durationMs,omitempty"`
}

func (w *wiring) logPurge(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	a, err := w.openLog(c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	ret := a.config.Config.Security.Audit
	res := purgeResult{SchemaVersion: jsonSchemaVersion, DryRun: c.Bool("dry-run"), RetentionDays: ret.RetentionDays, MaxEntries: ret.MaxEntries}
	if res.RetentionDays == 0 && res.MaxEntries == 0 {
		w.notef("retention is off (security.audit.retention_days and max_entries are 0); nothing to do")
		return w.printResult(f, res, "")
	}
	a.log.SetRetentionHold(forwardNames(ret.Forward)...)
	plan, err := a.log.PlanRetention(c.Context, res.RetentionDays, res.MaxEntries)
	if err != nil {
		return err
	}
	res.HeldFor = plan.HeldFor
	if len(plan.HeldFor) > 0 {
		w.warnf("keeping entries not yet forwarded to %s (`warden log forward` or a running `warden serve` delivers them)", strings.Join(plan.HeldFor, " and "))
	}
	nothing := fmt.Sprintf("nothing to purge (retention %d days, at most %d entries)\n", res.RetentionDays, res.MaxEntries)
	if res.DryRun {
		if plan.Count == 0 {
			return w.printResult(f, res, nothing)
		}
		res.Purged, res.From, res.To, res.Reason = plan.Count, plan.From, plan.To, plan.Reason
		return w.printResult(f, res, fmt.Sprintf("would purge %d entries (seq %d to %d) by %s\n", plan.Count, plan.From, plan.To, plan.Reason))
	}
	start := time.Now()
	n, err := a.log.EnforceRetention(c.Context, res.RetentionDays, res.MaxEntries)
	if err != nil {
		return auditFailed(err)
	}
	if n == 0 {
		return w.printResult(f, res, nothing)
	}
	took := time.Since(start).Round(time.Millisecond)
	if _, err := a.log.IndexPending(c.Context); err != nil {
		w.warnf("purged entries stay in the search index until the next run: %v", err)
	}
	ms := took.Milliseconds()
	res.Purged, res.DurationMS = uint64(n), &ms
	return w.printResult(f, res, fmt.Sprintf("purged %d entries in %s; a retention_purge entry records the range and anchor\n", n, took))
}

// forwardNames lists the enabled forwarding destinations by the names
// their cursors are kept under.
func forwardNames(f config.Forward) []string {
	var out []string
	if f.Syslog.Enabled {
		out = append(out, "syslog")
	}
	if f.HTTP.Enabled {
		out = append(out, "http")
	}
	return out
}

// checkpointResult is what log checkpoint prints under --format json:
// the signed checkpoint itself (verifiers check its signature), and the
// file it was appended to; with --public-key, only the key.
type checkpointResult struct {
	SchemaVersion int                  `json:"schemaVersion"`
	Checkpoint    *auditlog.Checkpoint `json:"checkpoint,omitempty"`
	AppendedTo    string               `json:"appendedTo,omitempty"`
	PublicKey     string               `json:"publicKey,omitempty"`
}

func (w *wiring) logCheckpoint(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	a, err := w.openLog(c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	priv, err := w.checkpointKey(c.Context, a.secrets)
	if err != nil {
		return err
	}
	if c.Bool("public-key") {
		pub := hex.EncodeToString(priv.Public().(ed25519.PublicKey))
		return w.printResult(f, checkpointResult{SchemaVersion: jsonSchemaVersion, PublicKey: pub}, pub+"\n")
	}
	cp, err := a.log.NewCheckpoint(c.Context, priv)
	if err != nil {
		return err
	}
	line, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	if err := a.record(c.Context, "audit.checkpoint", "audit_log", auditlog.OutcomeSuccess, map[string]any{"seq": cp.Seq, "hash": cp.Hash}); err != nil {
		return err
	}
	res := checkpointResult{SchemaVersion: jsonSchemaVersion, Checkpoint: &cp}
	if out := c.String("output"); out != "" {
		if err := appendLine(out, line); err != nil {
			return err
		}
		res.AppendedTo = out
		return w.printResult(f, res, fmt.Sprintf("checkpoint of seq %d appended to %s\n", cp.Seq, out))
	}
	// The text is the line a checkpoint file holds.
	return w.printResult(f, res, string(line)+"\n")
}

// appendLine appends one line to a file created 0600, synced before return.
func appendLine(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

// destinations builds the configured forwarding destinations.
func (w *wiring) destinations(ctx context.Context, c *cli.Context, a *auditSession) ([]auditlog.Destination, error) {
	fw := a.config.Config.Security.Audit.Forward
	var out []auditlog.Destination
	if fw.Syslog.Enabled {
		d, err := auditfwd.NewSyslog(auditfwd.SyslogConfig{Network: fw.Syslog.Network, Address: fw.Syslog.Address,
			AppName: fw.Syslog.AppName, CAFile: fw.Syslog.CAFile, ServerName: fw.Syslog.ServerName})
		if err != nil {
			return nil, inputError(err, "")
		}
		out = append(out, d)
	}
	if fw.HTTP.Enabled {
		if fw.HTTP.Token.Ref() != "" {
			if err := w.resolveSecrets(ctx, c, a.config, a.keyring); err != nil {
				return nil, err
			}
		}
		token := a.config.Config.Security.Audit.Forward.HTTP.Token // resolved now
		out = append(out, auditfwd.NewHTTP(fw.HTTP.URL, token.Reveal(), nil))
	}
	return out, nil
}

// forwardResult is what one log forward run prints: per destination, the
// entries delivered or the error that stopped it.
type forwardResult struct {
	SchemaVersion int               `json:"schemaVersion"`
	Destinations  []forwardedToDest `json:"destinations"`
}

type forwardedToDest struct {
	Name      string `json:"name"`
	Forwarded int    `json:"forwarded"`
	Error     string `json:"error,omitempty"`
}

func (w *wiring) logForward(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	a, err := w.openLog(c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	dests, err := w.destinations(c.Context, c, a)
	if err != nil {
		return err
	}
	if len(dests) == 0 {
		return inputError(errors.New("no destination is enabled"), "enable security.audit.forward.syslog or .http in the config")
	}
	defer func() {
		for _, d := range dests {
			_ = d.Close()
		}
	}()
	if !c.Bool("follow") {
		var failed error
		res := forwardResult{SchemaVersion: jsonSchemaVersion, Destinations: []forwardedToDest{}}
		for _, d := range dests {
			n, err := a.log.ForwardOnce(c.Context, d, 0)
			r := forwardedToDest{Name: d.Name(), Forwarded: n}
			if err != nil {
				w.warnf("%v", err)
				failed, r.Error = err, err.Error()
			} else if f == "text" {
				// Each line as its destination is done.
				fmt.Fprintf(w.env.Stdout, "forwarded %d entries to %s\n", n, d.Name())
			}
			res.Destinations = append(res.Destinations, r)
		}
		if f == "json" {
			if err := writeJSON(w.env.Stdout, res); err != nil {
				return err
			}
		}
		return failed
	}
	// A follow prints no result, in either format (WARDEN_RESULT_FORMAT=json
	// must not stop a forwarder): only notes and warnings on stderr.
	w.notef("forwarding to %d destination%s until interrupted", len(dests), plural(len(dests)))
	a.log.Forward(c.Context, dests, c.Duration("interval"), func(err error) { w.warnf("%v (will retry)", err) })
	w.notef("stopped")
	return nil
}

type statusOutput struct {
	SchemaVersion int                      `json:"schemaVersion"`
	Database      string                   `json:"database"`
	Entries       uint64                   `json:"entries"`
	First         uint64                   `json:"first"`
	Last          uint64                   `json:"last"`
	HeadHash      string                   `json:"headHash"`
	Forward       []auditlog.ForwardStatus `json:"forward"`
}

func (w *wiring) logStatus(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	a, err := w.openLog(c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	h, err := a.log.Head(c.Context)
	if err != nil {
		return err
	}
	var names []string
	if f := a.config.Config.Security.Audit.Forward; f.Syslog.Enabled {
		names = append(names, "syslog")
	}
	if a.config.Config.Security.Audit.Forward.HTTP.Enabled {
		names = append(names, "http")
	}
	fw, err := a.log.ForwardState(c.Context, names)
	if err != nil {
		return err
	}
	out := statusOutput{SchemaVersion: jsonSchemaVersion, Database: a.db.Path(), Entries: h.Count, First: h.First, Last: h.Seq,
		HeadHash: hex.EncodeToString(h.Hash), Forward: fw}
	if f == "json" {
		return writeJSON(w.env.Stdout, out)
	}
	fmt.Fprintf(w.env.Stdout, "database  %s\nentries   %d (seq %d to %d)\nhead      %s\n", out.Database, out.Entries, out.First, out.Last, out.HeadHash)
	for _, s := range fw {
		fmt.Fprintf(w.env.Stdout, "forward   %s: delivered up to %d, %d pending\n", s.Name, s.Cursor, s.Pending)
	}
	return nil
}
