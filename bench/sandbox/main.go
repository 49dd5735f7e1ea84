// Command sandbox is bench/sandbox.sh's helper: it times POST
// /api/v1/exec against a running gateway and prints the side-by-side
// table from hyperfine's JSON and its own.
//
//	sandbox exec -addr FILE -token FILE [-n 300] [-gap 20ms] -out FILE
//	sandbox report -hyperfine FILE -exec FILE
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
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
		if i >= *warmup {
			res.Times = append(res.Times, float64(took)/float64(time.Millisecond))
			res.Server = append(res.Server, r.DurationMS)
		}
	}
	b, _ := json.Marshal(res)
	return os.WriteFile(*out, b, 0o644)
}

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
	return nil
}

func pass(ok bool) string {
	if ok {
		return "PASS"
	}
	return "**FAIL**"
}
