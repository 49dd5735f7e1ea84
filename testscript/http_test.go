package testscript

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// gatewayURL reads the address warden serve wrote with --addr-file.
func gatewayURL(ts *testscript.TestScript, addrFile string, tlsOn bool) string {
	addr := strings.TrimSpace(ts.ReadFile(addrFile))
	if tlsOn {
		return "https://" + addr
	}
	return "http://" + addr
}

func httpClient(tlsOn bool) *http.Client {
	c := &http.Client{Timeout: 10 * time.Second}
	if tlsOn {
		// The script's certificate is self-signed: trust is not what is
		// being tested here, the protocol version is.
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec
	}
	return c
}

// waitready [-tls] ADDRFILE waits up to 20 s for the address file and for
// GET /readyz to answer 200.
func cmdWaitReady(ts *testscript.TestScript, neg bool, args []string) {
	tlsOn := len(args) > 0 && args[0] == "-tls"
	if tlsOn {
		args = args[1:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: waitready [-tls] ADDRFILE")
	}
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		if data, err := readFileQuiet(ts, args[0]); err == nil && strings.TrimSpace(data) != "" {
			res, err := httpClient(tlsOn).Get(gatewayURL(ts, args[0], tlsOn) + "/readyz")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					return
				}
				last = res.Status
			} else {
				last = err.Error()
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("gateway not ready: %s", last)
}

// http [-tls] [-token FILE] [-save FIELD FILE] [-want STATUS] [-header K:V] METHOD ADDRFILE PATH [JSONBODY]
// sends a request to the running gateway and prints "status N", the
// response headers named by -header (as "K: V") and the body on stdout.
// -save writes a top-level JSON string field of the answer to FILE; -want
// polls for up to 5 s until that status comes back.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	var tlsOn bool
	var tokenFile, saveField, saveFile string
	var headers [][2]string
	want := 0
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-tls":
			tlsOn, args = true, args[1:]
		case "-token":
			tokenFile, args = args[1], args[2:]
		case "-save":
			saveField, saveFile, args = args[1], args[2], args[3:]
		case "-want":
			n, err := strconv.Atoi(args[1])
			ts.Check(err)
			want, args = n, args[2:]
		case "-header":
			k, v, _ := strings.Cut(args[1], ":")
			headers, args = append(headers, [2]string{k, v}), args[2:]
		default:
			ts.Fatalf("http: unknown flag %s", args[0])
		}
	}
	if len(args) < 3 || len(args) > 4 {
		ts.Fatalf("usage: http [flags] METHOD ADDRFILE PATH [JSONBODY]")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var body io.Reader
		if len(args) == 4 {
			body = strings.NewReader(args[3])
		}
		req, err := http.NewRequest(args[0], gatewayURL(ts, args[1], tlsOn)+args[2], body)
		ts.Check(err)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if tokenFile != "" {
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(ts.ReadFile(tokenFile)))
		}
		for _, h := range headers {
			req.Header.Set(h[0], h[1])
		}
		res, err := httpClient(tlsOn).Do(req)
		ts.Check(err)
		data, err := io.ReadAll(res.Body)
		res.Body.Close()
		ts.Check(err)
		if want != 0 && res.StatusCode != want && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		fmt.Fprintf(ts.Stdout(), "status %d\n", res.StatusCode)
		if tlsOn && res.TLS != nil {
			fmt.Fprintf(ts.Stdout(), "tls %s\n", tls.VersionName(res.TLS.Version))
		}
		for _, name := range []string{"Retry-After", "Strict-Transport-Security", "Content-Security-Policy"} {
			if v := res.Header.Get(name); v != "" {
				fmt.Fprintf(ts.Stdout(), "%s: %s\n", name, v)
			}
		}
		fmt.Fprintf(ts.Stdout(), "%s\n", data)
		if want != 0 && res.StatusCode != want {
			ts.Fatalf("status %d, want %d", res.StatusCode, want)
		}
		if saveFile != "" {
			var m map[string]any
			ts.Check(json.Unmarshal(data, &m))
			v, ok := m[saveField].(string)
			if !ok {
				ts.Fatalf("no string field %q in %s", saveField, data)
			}
			ts.Check(writeFile(ts, saveFile, v))
		}
		return
	}
}

func readFileQuiet(ts *testscript.TestScript, name string) (string, error) {
	b, err := os.ReadFile(ts.MkAbs(name))
	return string(b), err
}

func writeFile(ts *testscript.TestScript, name, content string) error {
	return os.WriteFile(ts.MkAbs(name), []byte(content+"\n"), 0o600)
}
