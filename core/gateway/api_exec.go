package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/runner"
	"github.com/warden-sec/warden/core/sandbox"
)

// Error codes of the exec API.
const (
	CodePolicyRefused      = "POLICY_REFUSED"
	CodeSandboxUnavailable = "SANDBOX_UNAVAILABLE"
	CodeWorkspaceFull      = "WORKSPACE_FULL"
)

// maxExecOutput bounds each captured stream of POST /api/v1/exec; the
// WebSocket exec streams everything.
const maxExecOutput = 1 << 20

// execRequest is POST /api/v1/exec and the params of the exec request on
// /ws: exactly one of argv and command.
type execRequest struct {
	Argv      []string `json:"argv,omitempty"`
	Command   string   `json:"command,omitempty"` // a command line for /bin/sh -c
	Stdin     string   `json:"stdin,omitempty"`
	TimeoutMS int64    `json:"timeoutMs,omitempty"` // shortens the configured timeout
}

// execResponse is how the command ended.
type execResponse struct {
	Argv            []string       `json:"argv"`
	Sandboxed       bool           `json:"sandboxed"`
	ExitCode        int            `json:"exitCode"`
	Signal          string         `json:"signal,omitempty"`
	Limit           string         `json:"limit,omitempty"`
	LimitsHit       []string       `json:"limitsHit,omitempty"`
	Violation       string         `json:"violation,omitempty"`
	RefusedSyscalls map[string]int `json:"refusedSyscalls,omitempty"`
	DurationMS      float64        `json:"durationMs"`
	Stdout          *string        `json:"stdout,omitempty"`
	Stderr          *string        `json:"stderr,omitempty"`
	StdoutTruncated bool           `json:"stdoutTruncated,omitempty"`
	StderrTruncated bool           `json:"stderrTruncated,omitempty"`
	Layers          sandbox.Layers `json:"layers"`
}

func (s *Server) runnerRequest(ctx context.Context, p auth.Principal, ip string, req execRequest) (runner.Request, error) {
	if (len(req.Argv) == 0) == (req.Command == "") {
		return runner.Request{}, errInput("send exactly one of argv (an array) and command (a string)")
	}
	if req.TimeoutMS < 0 {
		return runner.Request{}, errInput("timeoutMs must not be negative")
	}
	// A command is the most privileged thing the gateway does: the
	// session or token is read again from the database, so one revoked a
	// moment ago (by the CLI, in another process) runs nothing.
	if err := s.opts.Auth.Recheck(ctx, p); err != nil {
		return runner.Request{}, err
	}
	// Only the owner's own login session is the main session; another
	// admin, a gateway token or any other role is sandboxed in mode
	// non-main.
	main, owner, err := s.opts.Auth.IsMain(ctx, p)
	if err != nil {
		return runner.Request{}, err
	}
	client := p.SessionID
	if client == "" {
		client = p.TokenID
	}
	if client == "" {
		client = p.Actor()
	}
	// The answer does not wait for the result's audit entry (the entry
	// before the command is always written first).
	rr := runner.Request{Actor: p.Actor(), Client: client, SourceIP: ip, Argv: req.Argv, Shell: req.Command,
		Main: main, Owner: owner, Timeout: time.Duration(req.TimeoutMS) * time.Millisecond, ResultInBackground: true}
	if req.Stdin != "" {
		rr.Stdin = strings.NewReader(req.Stdin)
	}
	return rr, nil
}

func (s *Server) exec(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if s.opts.Runner == nil {
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeSandboxUnavailable, Message: "command execution is not configured"}
	}
	var req execRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	rr, err := s.runnerRequest(r.Context(), p, clientIP(r), req)
	if err != nil {
		return err
	}
	stdout, stderr := &capped{max: maxExecOutput}, &capped{max: maxExecOutput}
	rr.Stdout, rr.Stderr = stdout, stderr
	out, err := s.opts.Runner.Run(r.Context(), rr)
	if err != nil {
		return execError(err)
	}
	resp := execResult(out)
	so, se := stdout.String(), stderr.String()
	resp.Stdout, resp.Stderr = &so, &se
	resp.StdoutTruncated, resp.StderrTruncated = stdout.truncated, stderr.truncated
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func execResult(out runner.Outcome) execResponse {
	return execResponse{Argv: out.Argv, Sandboxed: out.Sandboxed, ExitCode: out.ExitCode, Signal: out.Signal, Limit: out.Limit,
		LimitsHit: out.LimitsHit, Violation: out.Violation, RefusedSyscalls: out.Refused, DurationMS: float64(out.Duration.Microseconds()) / 1000, Layers: out.Layers}
}

// execError maps the runner's refusals to API errors.
func execError(err error) error {
	var refused *runner.RefusedError
	var quota *runner.QuotaError
	switch {
	case errors.As(err, &refused):
		return &apiError{Status: http.StatusForbidden, Code: CodePolicyRefused, Message: refused.Reason, cause: err}
	case errors.Is(err, runner.ErrBusy):
		return &apiError{Status: http.StatusTooManyRequests, Code: CodeRateLimited, RetryAfter: 1, Message: runner.ErrBusy.Error(), cause: err}
	case errors.As(err, &quota):
		return &apiError{Status: http.StatusInsufficientStorage, Code: CodeWorkspaceFull, Message: quota.Error() + "; free space in the workspace", cause: err}
	case errors.Is(err, runner.ErrAuditUnavailable):
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeAuditUnavailable,
			Message: "the audit log cannot be written, so the command did not run", cause: err}
	case errors.Is(err, context.Canceled):
		return err
	}
	if strings.HasPrefix(err.Error(), "sandbox") {
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeSandboxUnavailable, Message: err.Error(), cause: err}
	}
	return err
}

// capped keeps the first max bytes written to it.
type capped struct {
	mu        sync.Mutex
	buf       []byte
	max       int
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.max - len(c.buf)
	if len(p) > room {
		c.buf = append(c.buf, p[:max(room, 0)]...)
		c.truncated = true
	} else {
		c.buf = append(c.buf, p...)
	}
	return len(p), nil
}

// String is the output as text; bytes that are not UTF-8 are replaced.
func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.ToValidUTF8(string(c.buf), string(utf8.RuneError))
}

// wsExec is the exec request on /ws: output frames as the command writes,
// then the response.
func (s *Server) wsExec(ctx context.Context, c *wsConn, id string, params json.RawMessage) (any, error) {
	if s.opts.Runner == nil {
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: CodeSandboxUnavailable, Message: "command execution is not configured"}
	}
	var req execRequest
	dec := json.NewDecoder(strings.NewReader(string(params)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, errInput("exec params: %v", err)
	}
	rr, err := s.runnerRequest(ctx, c.p, c.ip, req)
	if errors.Is(err, auth.ErrUnauthenticated) {
		// The session or token has ended: so has the connection.
		s.hub.end(c, CloseUnauthenticated, "session ended")
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	rr.Stdout = &frameWriter{s: s, ctx: ctx, c: c, id: id, stream: "stdout"}
	rr.Stderr = &frameWriter{s: s, ctx: ctx, c: c, id: id, stream: "stderr"}
	out, err := s.opts.Runner.Run(ctx, rr)
	if err != nil {
		return nil, execError(err)
	}
	return execResult(out), nil
}

// frameWriter sends what a command writes as output frames.
type frameWriter struct {
	s      *Server
	ctx    context.Context
	c      *wsConn
	id     string
	stream string
}

func (f *frameWriter) Write(p []byte) (int, error) {
	f.s.write(f.ctx, f.c, outFrame{Type: "output", ID: f.id, Stream: f.stream, Data: strings.ToValidUTF8(string(p), string(utf8.RuneError))})
	return len(p), nil
}

// NotifyViolation sends a sandbox_violation event to every connected
// client allowed to read the audit log.
func (s *Server) NotifyViolation(v runner.Violation) {
	for _, c := range s.hub.snapshot(func(c *wsConn) bool { return c.p.Can(auth.PermAuditRead) }) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.write(ctx, c, outFrame{Type: "event", Event: "sandbox_violation", Data: v})
		}()
	}
}
