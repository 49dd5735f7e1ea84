package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
)

// The commands view: recent commands (POST /api/v1/exec, the WebSocket
// exec, warden sandbox run) as the audit log recorded them. The runner
// writes a sandbox.exec entry before a command runs (outcome allowed),
// and one when it ended (success or failure, with the exit code and the
// duration) or was refused (denied, with the reason); an escape signal is
// a sandbox_violation entry of its own. A row is one of those entries:
// a command that ended or was refused, or an escape attempt. The entry
// written before a command runs makes no row, so a command shows once it
// has ended; the same mapping (commandFromEntry) serves this route and the
// WebSocket's commands events, so a page that loads the list and then
// follows the events sees the same rows.

type commandRow struct {
	Seq      uint64    `json:"seq"` // the entry's
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"` // exec or violation
	Actor    string    `json:"actor"`
	SourceIP string    `json:"sourceIp,omitempty"`
	Argv     []string  `json:"argv"`
	// Tier is main for the owner's main session, else non-main (the
	// sandbox.mode vocabulary); Sandboxed says where the command ran.
	Tier      string `json:"tier,omitempty"`
	Sandboxed *bool  `json:"sandboxed,omitempty"`
	Owner     string `json:"owner,omitempty"`
	// Status is exited (see ExitCode), refused (see Reason), failed (the
	// sandbox could not run it; see Error) or violation.
	Status     string   `json:"status"`
	ExitCode   *int     `json:"exitCode,omitempty"`
	DurationMS *int64   `json:"durationMs,omitempty"`
	Signal     string   `json:"signal,omitempty"`
	Limit      string   `json:"limit,omitempty"`
	LimitsHit  []string `json:"limitsHit,omitempty"`
	Violation  string   `json:"violation,omitempty"` // the kernel killed an escape attempt
	Signals    []string `json:"signals,omitempty"`   // escape signals (kind violation)
	Reason     string   `json:"reason,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// execDetails are the fields of sandbox.exec and sandbox_violation details
// that rows show.
type execDetails struct {
	Argv       []string `json:"argv"`
	Sandboxed  *bool    `json:"sandboxed"`
	Main       bool     `json:"main"`
	Owner      string   `json:"owner"`
	ExitCode   *int     `json:"exitCode"`
	DurationMS *int64   `json:"durationMs"`
	Signal     string   `json:"signal"`
	Limit      any      `json:"limit"` // a name in results, a number in quota refusals
	LimitsHit  []string `json:"limitsHit"`
	Violation  string   `json:"violation"`
	Signals    []string `json:"signals"`
	Reason     string   `json:"reason"`
	Error      string   `json:"error"`
}

// commandFromEntry maps an audit entry to a row; false for entries that
// make none.
func commandFromEntry(e auditlog.Entry) (commandRow, bool) {
	var d execDetails
	if e.Action != "sandbox.exec" && e.Action != "sandbox_violation" || e.Outcome == auditlog.OutcomeAllowed {
		return commandRow{}, false
	}
	if len(e.Details) > 0 && json.Unmarshal(e.Details, &d) != nil {
		return commandRow{}, false
	}
	row := commandRow{Seq: e.Seq, Time: e.Time, Actor: e.Actor, SourceIP: e.SourceIP, Argv: d.Argv}
	if row.Argv == nil {
		row.Argv = []string{}
	}
	if e.Action == "sandbox_violation" {
		row.Kind, row.Status, row.Signals = "violation", "violation", d.Signals
		return row, true
	}
	row.Kind, row.Sandboxed, row.Owner = "exec", d.Sandboxed, d.Owner
	row.Tier = "non-main"
	if d.Main {
		row.Tier = "main"
	}
	row.ExitCode, row.DurationMS, row.Signal, row.LimitsHit, row.Violation = d.ExitCode, d.DurationMS, d.Signal, d.LimitsHit, d.Violation
	if l, ok := d.Limit.(string); ok {
		row.Limit = l
	}
	switch {
	case e.Outcome == auditlog.OutcomeDenied:
		row.Status, row.Reason = "refused", d.Reason
	case d.Error != "":
		row.Status, row.Error = "failed", d.Error
	default:
		row.Status = "exited"
	}
	return row, true
}

type commandsResponse struct {
	SchemaVersion int          `json:"schemaVersion"`
	Commands      []commandRow `json:"commands"`
	// More says older rows may exist: ask again with until set to the
	// oldest row's time.
	More bool `json:"more"`
}

// listCommands answers GET /api/v1/commands?limit=&actor=&since=&until=,
// newest first. It reads the audit log, so it is recorded as a read of it
// (recordAuditRead: one audit.read per reader per window).
func (s *Server) listCommands(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	since, err := queryTime(r, "since")
	if err != nil {
		return err
	}
	until, err := queryTime(r, "until")
	if err != nil {
		return err
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 200 {
			return errInput("limit %q: a number from 1 to 200", v)
		}
	}
	// A command makes two entries (before and after it runs), and only the
	// second is a row.
	query := auditlog.Query{Action: "sandbox*", Actor: q.Get("actor"), Since: since, Until: until, Limit: min(2*limit+8, 1000)}
	if err := query.Validate(); err != nil {
		return err
	}
	filters := map[string]any{"view": "commands"}
	for k, v := range map[string]string{"actor": query.Actor, "since": q.Get("since"), "until": q.Get("until")} {
		if v != "" {
			filters[k] = v
		}
	}
	if err := s.recordAuditRead(r.Context(), p, clientIP(r), filters); err != nil {
		return err
	}
	entries, err := s.opts.Audit.Search(r.Context(), query)
	if err != nil {
		return err
	}
	out := commandsResponse{SchemaVersion: schemaVersion, Commands: []commandRow{}, More: len(entries) == query.Limit}
	for _, e := range entries {
		row, ok := commandFromEntry(e)
		if !ok {
			continue
		}
		if len(out.Commands) == limit {
			out.More = true
			break
		}
		out.Commands = append(out.Commands, row)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
