package commands

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/report"
	"github.com/warden-sec/warden/core/sandbox"
	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/core/statedir"
	"github.com/warden-sec/warden/core/store"
)

// reportNow is the fixture's "now": the report covers the 90 days before it.
var reportNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// reportFixture is a real deployment made with warden's own commands and
// identity service under a fixed clock: a config with one suppression,
// a state dir, users, logins, a rate-limit trip, revoked sessions, sandbox
// runs and a violation, a secret change.
type reportFixture struct {
	root  string
	clock time.Time
}

func (f *reportFixture) env(stdin string, out, errOut *bytes.Buffer) Env {
	return Env{Stdin: strings.NewReader(stdin), Stdout: out, Stderr: errOut, Now: func() time.Time { return f.clock },
		Getenv: func(k string) string {
			if k == "HOME" || strings.HasPrefix(k, "XDG_") {
				return os.Getenv(k)
			}
			return ""
		},
		Build: BuildInfo{Version: "v1.2.3"}, ScryptWorkFactor: 10}
}

// run runs warden with args and returns stdout, stderr and the exit code.
func (f *reportFixture) run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), append([]string{"warden"}, args...), f.env(stdin, &out, &errOut))
	return out.String(), errOut.String(), code
}

func (f *reportFixture) must(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := f.run(t, stdin, args...)
	if code != 0 {
		t.Fatalf("warden %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (f *reportFixture) configPath() string {
	return filepath.Join(f.root, "home", ".config", "warden", "warden.yaml")
}

func (f *reportFixture) stateDir() string {
	return filepath.Join(f.root, "home", ".local", "state", "warden")
}

// fullHost pins the sandbox layers `warden audit` sees.
func fullHost() sandbox.Host {
	return sandbox.Host{OS: "linux", Supported: true, Seccomp: true, LandlockABI: 4, Limits: "cgroup2",
		Namespaces: map[string]bool{"user": true, "pid": true, "mount": true, "net": true, "ipc": true, "uts": true, "cgroup": true}}
}

const fixturePassword = "correct horse battery staple and then some more words"

func newReportFixture(t *testing.T) *reportFixture {
	t.Helper()
	f := &reportFixture{root: t.TempDir(), clock: reportNow.AddDate(0, 0, -200)}
	home := filepath.Join(f.root, "home")
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, ".local", "state"))
	t.Chdir(f.root)
	prev := AuditHostProbe
	AuditHostProbe = fullHost
	t.Cleanup(func() { AuditHostProbe = prev })

	f.must(t, "", "init", "-y")
	cfg, err := os.ReadFile(f.configPath())
	if err != nil {
		t.Fatal(err)
	}
	accepted := strings.Replace(string(cfg), "    suppressions: []\n",
		"    suppressions:\n      - id: sandbox.not_all\n        reason: \"the owner's main session needs the host GPU\"\n        expires: 2099-01-01\n", 1)
	if accepted == string(cfg) {
		t.Fatal("the init template no longer has an empty suppressions list")
	}
	if err := os.WriteFile(f.configPath(), []byte(accepted), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, role string }{{"alice", "admin"}, {"bob", "operator"}, {"carol", "viewer"}} {
		f.must(t, fixturePassword+"\n", "users", "add", u.name, "--role", u.role)
	}

	// Activity within the period, through the identity service and the
	// audit log as warden serve records it.
	f.clock = reportNow.AddDate(0, 0, -10)
	ctx := context.Background()
	svc, lg, closeAll := f.openAuth(t)
	defer closeAll()
	login := func(user, pw, ip string) error {
		_, err := svc.Login(ctx, auth.LoginRequest{Username: user, Password: pw, ClientIP: ip, DeviceID: "laptop"})
		return err
	}
	if err := login("alice", fixturePassword, "192.0.2.10"); err != nil {
		t.Fatal(err)
	}
	f.clock = f.clock.Add(time.Hour)
	_ = login("bob", "wrong password, twice over and more", "192.0.2.11")
	if err := login("bob", fixturePassword, "192.0.2.11"); err != nil {
		t.Fatal(err)
	}
	f.clock = reportNow.AddDate(0, 0, -7)
	for i := 0; i < 6; i++ {
		_ = login("mallory", "guessing guessing guessing guessing", "203.0.113.9")
	}
	if _, err := svc.RevokeUserSessions(ctx, auth.Local("owner"), "bob", "local"); err != nil {
		t.Fatal(err)
	}
	for i, ev := range []auditlog.Event{
		{Actor: "token:agent", Action: "sandbox.exec", Target: "ls -la", Outcome: auditlog.OutcomeSuccess, SourceIP: "127.0.0.1"},
		{Actor: "token:agent", Action: "sandbox.exec", Target: "git status", Outcome: auditlog.OutcomeSuccess, SourceIP: "127.0.0.1"},
		{Actor: "token:agent", Action: "sandbox_violation", Target: "curl http://198.51.100.7/x.sh", Outcome: auditlog.OutcomeDenied, SourceIP: "127.0.0.1",
			Details: map[string]any{"reason": "blocked network tool"}},
	} {
		ev.Time = reportNow.AddDate(0, 0, -5).Add(time.Duration(i) * time.Minute)
		if _, err := lg.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	closeAll()
	f.clock = reportNow.AddDate(0, 0, -3)
	f.must(t, "xoxb-not-a-real-token-but-long-enough\n", "secrets", "set", "slack_bot_token")
	f.clock = reportNow
	return f
}

// openAuth opens the fixture's identity service as `warden serve` does.
func (f *reportFixture) openAuth(t *testing.T) (*auth.Service, *auditlog.Log, func()) {
	t.Helper()
	ctx := context.Background()
	loaded, err := config.Load(ctx, f.configPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	kr := &secrets.Keyring{DefaultPath: filepath.Join(f.root, "home", ".config", "warden", "identity.txt")}
	sess := &session{keyring: kr, config: loaded, stateDir: f.stateDir()}
	w := &wiring{env: f.env("", &bytes.Buffer{}, &bytes.Buffer{})}
	st := sess.secretStore(w)
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(f.stateDir(), statedir.DatabaseFile)})
	if err != nil {
		t.Fatal(err)
	}
	key, err := w.auditKey(ctx, st, db, false)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := auditlog.Open(ctx, db, key, auditlog.Options{Now: func() time.Time { return f.clock }})
	if err != nil {
		t.Fatal(err)
	}
	a := &auditSession{session: sess, secrets: st, db: db, log: lg}
	access, err := w.ensureKey(ctx, a, accessKeySecret, auth.KeySize)
	if err != nil {
		t.Fatal(err)
	}
	totpKey, err := w.ensureKey(ctx, a, totpKeySecret, 32)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := auth.New(authOptions(a, access, totpKey, func() time.Time { return f.clock }))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	return svc, lg, func() {
		if !closed {
			closed = true
			a.Close()
		}
	}
}

var (
	hexHash     = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
	pseudonymRe = regexp.MustCompile(`user-[0-9a-f]{10}`)
)

// normalise removes what varies from run to run: the temporary
// directory, hashes of random keys and the Go version.
func (f *reportFixture) normalise(s string) string {
	s = strings.ReplaceAll(s, f.root, "$ROOT")
	s = hexHash.ReplaceAllString(s, "<sha256>")
	return s
}

// The report in every format for the fixture, compared with golden files
// (go test ./commands -run TestReportGolden -update rewrites them).
func TestReportGolden(t *testing.T) {
	f := newReportFixture(t)
	for _, c := range []struct{ format, ext string }{{"json", "json"}, {"markdown", "md"}, {"csv", "csv"}, {"html", "html"}} {
		out, errOut, code := f.run(t, "", "report", "--format", c.format, "--deps-json", filepath.Join(pkgDir, "testdata", "deps", "scan.json"),
			"--release-notes-json", filepath.Join(pkgDir, "testdata", "report", "notes.json"))
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", c.format, code, errOut)
		}
		got := f.normalise(out)
		path := filepath.Join(pkgDir, "testdata", "report", "fixture."+c.ext)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (create it with -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s output differs from %s (-update rewrites it):\n%s", c.format, path, got)
		}
	}
}

// What the fixture's report says, checked field by field.
func TestReportEvidence(t *testing.T) {
	f := newReportFixture(t)
	out := f.must(t, "", "report", "--format", "json")
	var doc struct {
		SchemaVersion int `json:"schemaVersion"`
		Controls      []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Evidence []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"evidence"`
		} `json:"controls"`
		Log struct {
			Verified    bool `json:"verified"`
			Populations []struct {
				Name  string `json:"name"`
				Count int    `json:"count"`
			} `json:"populations"`
		} `json:"log"`
		Users []struct {
			Name  string `json:"name"`
			Stale bool   `json:"stale"`
		} `json:"users"`
		Integrity struct {
			AuditHeadSeq uint64 `json:"auditHeadSeq"`
		} `json:"integrity"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != 1 || !doc.Log.Verified || doc.Integrity.AuditHeadSeq == 0 {
		t.Errorf("schemaVersion %d, verified %v, head %d", doc.SchemaVersion, doc.Log.Verified, doc.Integrity.AuditHeadSeq)
	}
	pops := map[string]int{}
	for _, p := range doc.Log.Populations {
		pops[p.Name] = p.Count
	}
	// alice and bob log in; bob fails once, mallory five times before the
	// limiter answers the sixth; bob's sessions are revoked.
	for name, want := range map[string]int{"logins": 2, "failed logins": 6, "rate-limit trips": 1, "session revocations": 1,
		"sandbox runs": 2, "sandbox violations": 1, "secret changes": 1} {
		if pops[name] != want {
			t.Errorf("%s: %d, want %d", name, pops[name], want)
		}
	}
	var stale []string
	for _, u := range doc.Users {
		if u.Stale {
			stale = append(stale, u.Name)
		}
	}
	if strings.Join(stale, ",") != "carol" {
		t.Errorf("stale accounts %v, want carol (created 200 days ago, never logged in)", stale)
	}
	status := map[string]string{}
	for _, c := range doc.Controls {
		status[c.ID] = c.Status
	}
	for id, want := range map[string]string{"CC6.2": "FAIL", "CC6.8": "EXCEPTION", "A.8.15": "PASS", "CC9.2": "MANUAL", "A.8.8": "MANUAL"} {
		if status[id] != want {
			t.Errorf("%s: %s, want %s", id, status[id], want)
		}
	}

	// --redact: no username left, the same pseudonym for the same user.
	red := f.must(t, "", "report", "--format", "json", "--redact")
	for _, n := range []string{"alice", "bob", "carol"} {
		if strings.Contains(red, `"`+n+`"`) || strings.Contains(red, n+",") {
			t.Errorf("--redact left %s in the report", n)
		}
	}
	distinct := func(s string) string {
		seen := map[string]bool{}
		var out []string
		for _, p := range pseudonymRe.FindAllString(s, -1) {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	again := f.must(t, "", "report", "--format", "json", "--redact")
	if d := distinct(red); strings.Count(d, "user-") != 3 || d != distinct(again) {
		t.Errorf("pseudonyms %s (then %s): want one per user, the same each run", d, distinct(again))
	}

	// CSV: one row per control.
	rows, err := csv.NewReader(strings.NewReader(f.must(t, "", "report", "--format", "csv", "--framework", "soc2"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+12 || rows[0][1] != "control" {
		t.Errorf("csv has %d rows (header %v), want a header and 12 SOC 2 controls", len(rows), rows[0])
	}
}

// The report reads the state and changes nothing: the audit log head,
// the secret store and the state dir's files are as they were.
func TestReportChangesNothing(t *testing.T) {
	f := newReportFixture(t)
	head := func() auditlog.HeadInfo {
		_, lg, closeAll := f.openAuth(t)
		defer closeAll()
		h, err := lg.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	before, files := head(), listDir(t, f.stateDir())
	store, err := os.ReadFile(filepath.Join(f.stateDir(), secrets.StoreFileName))
	if err != nil {
		t.Fatal(err)
	}
	f.must(t, "", "report", "-o", filepath.Join(f.root, "r.html"))
	f.must(t, "", "report", "verify", filepath.Join(f.root, "r.html"))
	if after := head(); after.Seq != before.Seq || !bytes.Equal(after.Hash, before.Hash) {
		t.Errorf("the audit log moved from seq %d to %d", before.Seq, after.Seq)
	}
	if now := listDir(t, f.stateDir()); now != files {
		t.Errorf("the state dir changed:\nbefore %s\nafter  %s", files, now)
	}
	if again, _ := os.ReadFile(filepath.Join(f.stateDir(), secrets.StoreFileName)); !bytes.Equal(again, store) {
		t.Error("the secret store changed")
	}
}

// listDir names the state dir's files with their modes (SQLite's -wal and
// -shm come and go with connections).
func listDir(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, "-shm") || strings.HasSuffix(p, "-wal") {
			return nil
		}
		b.WriteString(strings.TrimPrefix(p, dir) + " " + fi.Mode().String() + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "12w": 84 * 24 * time.Hour, "720h": 720 * time.Hour, "1d": 24 * time.Hour} {
		if got, err := parsePeriod(in); err != nil || got != want {
			t.Errorf("parsePeriod(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "-3d", "xd", "soon", "0s"} {
		if _, err := parsePeriod(in); err == nil {
			t.Errorf("parsePeriod(%q) accepted", in)
		}
	}
}

// The integrity block survives each format's escaping and is found again.
func TestIntegrityRoundTrip(t *testing.T) {
	r, err := report.Build(report.Input{Now: reportNow, Period: 24 * time.Hour, ConfigFile: `/etc/a "b" <c>.yaml`, ConfigHash: "c0ffee",
		Log: report.LogSummary{Present: true, Verified: true, HeadSeq: 42, HeadHash: "abc123"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"html", "markdown", "json"} {
		data, err := renderReport(format, r, "v1")
		if err != nil {
			t.Fatal(err)
		}
		got, err := extractIntegrity(data)
		if err != nil || got != r.Integrity {
			t.Errorf("%s: %+v, %v; want %+v", format, got, err, r.Integrity)
		}
	}
	data, _ := renderReport("csv", r, "v1")
	if _, err := extractIntegrity(data); err == nil {
		t.Error("CSV has no integrity block, yet one was found")
	}
}

// A sealed report verifies under its key and fails after any edit or
// under another key.
func TestReportMAC(t *testing.T) {
	key, other := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	for _, format := range []string{"html", "markdown", "json"} {
		r, err := report.Build(report.Input{Now: reportNow, Period: 24 * time.Hour, Log: report.LogSummary{Present: true, HeadSeq: 7, HeadHash: "ab"}})
		if err != nil {
			t.Fatal(err)
		}
		data, err := renderSealed(format, r, "v1", key)
		if err != nil {
			t.Fatal(err)
		}
		in, err := extractIntegrity(data)
		if err != nil || len(in.ReportMAC) != 64 || bytes.Contains(data, []byte(report.MACPlaceholder)) {
			t.Fatalf("%s: integrity %+v, %v", format, in, err)
		}
		if d := checkMAC(data, in, key); d != "" {
			t.Errorf("%s: untouched report: %s", format, d)
		}
		if d := checkMAC(data, in, other); !strings.Contains(d, "does not match") {
			t.Errorf("%s: another key: %q", format, d)
		}
		edited := bytes.Replace(data, []byte("MANUAL"), []byte("PASS"), 1)
		if d := checkMAC(edited, in, key); !strings.Contains(d, "does not match") {
			t.Errorf("%s: edited report: %q", format, d)
		}
		if d := checkMAC(data, in, nil); !strings.Contains(d, "no audit key") {
			t.Errorf("%s: no key: %q", format, d)
		}
	}
}
