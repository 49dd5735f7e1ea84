// Command sandbox is bench/sandbox.sh's helper: it times POST
// /api/v1/exec against a running gateway and prints the side-by-side
// table from hyperfine's JSON and its own. Between the exec requests, at
// the same pace, it times what no request can go below: an HTTP round
// trip to the same gateway (GET /healthz), one durable SQLite commit
// (the store's settings, a file beside -db), and /bin/true started and
// waited for from Go.
//
//	sandbox exec -addr FILE -token FILE -db FILE [-n 300] [-gap 20ms] -out FILE
//	sandbox report -hyperfine FILE -exec FILE
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/store"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sandbox exec|report ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "exec":
		err = execCmd(os.Args[2:])
	case "report":
		err = reportCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

// execResult is what exec measured, in milliseconds.
type execResult struct {
	N       int       `json:"n"`
	GapMS   float64   `json:"gapMs"`
	Times   []float64 `json:"times"`
	Server  []float64 `json:"serverTimes"` // the command's own duration as the gateway reports it
	Refused int       `json:"refused"`
	// The floors, measured in the same run at the same pace.
	HTTP   []float64 `json:"httpTimes"`   // GET /healthz round trip
	Commit []float64 `json:"commitTimes"` // one durable SQLite commit
	Exec   []float64 `json:"execTimes"`   // /bin/true through os/exec
}

func readTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

func execCmd(args []string) error {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	addrFile := fs.String("addr", "", "file holding the gateway's host:port")
	tokenFile := fs.String("token", "", "file holding an agent token")
	n := fs.Int("n", 300, "requests")
	gap := fs.Duration("gap", 20*time.Millisecond, "pause between requests (the pool refills meanwhile)")
	warmup := fs.Int("warmup", 20, "requests not counted")
	out := fs.String("out", "", "JSON result file")
	dbPath := fs.String("db", "", "a database file to time commits on (created)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{Path: *dbPath})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Write(ctx, func(ctx context.Context, q store.Queryer) error {
		_, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS t (b BLOB)`)
		return err
	}); err != nil {
		return err
	}
	row := bytes.Repeat([]byte{'x'}, 300) // about an audit entry's size
	addr, err := readTrim(*addrFile)
	if err != nil {
		return err
	}
	token, err := readTrim(*tokenFile)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	body := []byte(`{"argv":["/bin/true"]}`)
	res := execResult{N: *n, GapMS: float64(*gap) / float64(time.Millisecond)}
	for i := 0; i < *warmup+*n; i++ {
		time.Sleep(*gap)
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/exec", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			res.Refused++
			if res.Refused > 3 {
				return fmt.Errorf("exec: %d %s", resp.StatusCode, b)
			}
			continue
		}
		var r struct {
			ExitCode   int     `json:"exitCode"`
			DurationMS float64 `json:"durationMs"`
			Sandboxed  bool    `json:"sandboxed"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.ExitCode != 0 || !r.Sandboxed {
			return fmt.Errorf("exec answered %s", b)
		}
		if i < *warmup {
			continue
		}
		res.Times = append(res.Times, millis(took))
		res.Server = append(res.Server, r.DurationMS)

		time.Sleep(*gap)
		start = time.Now()
		resp, err = client.Get("http://" + addr + "/healthz")
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.HTTP = append(res.HTTP, millis(time.Since(start)))

		time.Sleep(*gap)
		start = time.Now()
		if err := db.Write(ctx, func(ctx context.Context, q store.Queryer) error {
			_, err := q.ExecContext(ctx, `INSERT INTO t (b) VALUES (?)`, row)
			return err
		}); err != nil {
			return err
		}
		res.Commit = append(res.Commit, millis(time.Since(start)))

		time.Sleep(*gap)
		start = time.Now()
		if err := exec.Command("/bin/true").Run(); err != nil {
			return err
		}
		res.Exec = append(res.Exec, millis(time.Since(start)))
	}
	b, _ := json.Marshal(res)
	return os.WriteFile(*out, b, 0o644)
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// hyperfine's --export-json, the parts used here.
type hyperfineJSON struct {
	Results []struct {
		Command string    `json:"command"`
		Times   []float64 `json:"times"` // seconds
	} `json:"results"`
}

func pct(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func reportCmd(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	hf := fs.String("hyperfine", "", "hyperfine --export-json file")
	ex := fs.String("exec", "", "exec result file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var h hyperfineJSON
	b, err := os.ReadFile(*hf)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return err
	}
	var e execResult
	if b, err = os.ReadFile(*ex); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return err
	}
	if len(h.Results) != 3 {
		return errors.New("want three hyperfine results: plain, bwrap, warden")
	}
	ms := func(ts []float64) []float64 {
		out := make([]float64, len(ts))
		for i, t := range ts {
			out[i] = t * 1000
		}
		return out
	}
	names := []string{"plain exec", "bwrap --unshare-all --cap-drop ALL …", "`warden sandbox run` (policy, two audit entries, cold sandbox)"}
	fmt.Println("| `/bin/true` through | runs | p50 | p90 | p99 | goal |")
	fmt.Println("|---|---|---|---|---|---|")
	bwrapP50 := pct(ms(h.Results[1].Times), 0.5)
	for i, r := range h.Results {
		t := ms(r.Times)
		goal := ""
		if i == 2 {
			goal = fmt.Sprintf("p50 <= bwrap's (%.1f ms): %s", bwrapP50, pass(pct(t, 0.5) <= bwrapP50))
		}
		fmt.Printf("| %s | %d | %.2f ms | %.2f ms | %.2f ms | %s |\n", names[i], len(t), pct(t, 0.5), pct(t, 0.9), pct(t, 0.99), goal)
	}
	fmt.Printf("| `POST /api/v1/exec` on a running gateway (pooled sandbox, one request every %.0f ms) | %d | %.2f ms | %.2f ms | %.2f ms | p50 <= 2 ms: %s |\n",
		e.GapMS, len(e.Times), pct(e.Times, 0.5), pct(e.Times, 0.9), pct(e.Times, 0.99), pass(pct(e.Times, 0.5) <= 2))
	fmt.Printf("| … of which the command in the sandbox, as the gateway measured it | %d | %.2f ms | %.2f ms | %.2f ms | |\n",
		len(e.Server), pct(e.Server, 0.5), pct(e.Server, 0.9), pct(e.Server, 0.99))
	floor := 0.0
	for _, f := range []struct {
		name string
		ts   []float64
	}{
		{"floor: `GET /healthz` on the same gateway (HTTP round trip)", e.HTTP},
		{"floor: one durable SQLite commit (the audit entry before the command)", e.Commit},
		{"floor: `/bin/true` through os/exec on the host", e.Exec},
	} {
		floor += pct(f.ts, 0.5)
		fmt.Printf("| %s, same pace | %d | %.2f ms | %.2f ms | %.2f ms | |\n", f.name, len(f.ts), pct(f.ts, 0.5), pct(f.ts, 0.9), pct(f.ts, 0.99))
	}
	fmt.Printf("| sum of the three floors' p50 | | %.2f ms | | | |\n", floor)
	return nil
}

func pass(ok bool) string {
	if ok {
		return "PASS"
	}
	return "**FAIL**"
}
