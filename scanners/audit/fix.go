package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/atomicfile"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/fsperm"
)

// Change is one change --fix makes (or, with a dry run, would make).
type Change struct {
	Check  string `json:"check"`
	Target string `json:"target"`
	Action string `json:"action"`
}

// FixResult is what Fix did.
type FixResult struct {
	DryRun  bool     `json:"dryRun"`
	Changes []Change `json:"changes"`
	// Left are the open findings --fix does not touch, by id.
	Left []string `json:"left"`
}

// Fix applies the safe, repeatable fixes for the open findings of rep:
// modes of the state dir, its files, the config and the identity; dm_policy
// open to pairing; wildcards out of allow-lists; retention on. It never
// rotates secrets or changes the bind or auth. Config edits keep the file
// as written except for the edited values and are written atomically with
// the mode set at creation. With dryRun nothing is changed.
func Fix(_ context.Context, o Options, rep *Report, dryRun bool) (*FixResult, error) {
	e := newEnv(o)
	res := &FixResult{DryRun: dryRun, Changes: []Change{}, Left: []string{}}
	want := map[string]bool{}
	for _, r := range rep.Findings() {
		if r.Fixable {
			want[r.ID] = true
		} else {
			res.Left = append(res.Left, r.ID)
		}
	}
	// Modes in the state dir.
	if want["files.state_dir"] || want["files.state_files"] || want["log.mode"] {
		probs, err := fsperm.Check(o.StateDir, o.Policy)
		if err != nil {
			return res, err
		}
		for _, p := range probs {
			if p.Issue != fsperm.IssueMode {
				continue
			}
			id := "files.state_files"
			switch {
			case p.Path == filepath.Clean(o.StateDir):
				id = "files.state_dir"
			case strings.HasPrefix(filepath.Base(p.Path), "warden.db"):
				id = "log.mode"
			}
			to := p.Mode.Perm() & p.Want.Perm()
			if err := chmod(p.Path, to, dryRun); err != nil {
				return res, err
			}
			res.Changes = append(res.Changes, Change{Check: id, Target: p.Path, Action: fmt.Sprintf("mode %04o -> %04o", p.Mode.Perm(), to)})
		}
	}
	if want["secrets.identity"] {
		if fi, err := os.Stat(o.IdentityPath); err == nil {
			to := fi.Mode().Perm() & 0o600
			if err := chmod(o.IdentityPath, to, dryRun); err != nil {
				return res, err
			}
			res.Changes = append(res.Changes, Change{Check: "secrets.identity", Target: o.IdentityPath, Action: fmt.Sprintf("mode %04o -> %04o", fi.Mode().Perm(), to)})
		}
	}
	cfgMode := fs.FileMode(0)
	if e.file != "" {
		if fi, err := os.Stat(e.file); err == nil {
			cfgMode = fi.Mode().Perm()
		}
	}
	newMode := cfgMode
	if want["files.config_mode"] {
		newMode = cfgMode & e.o.ConfigMode.Perm()
		res.Changes = append(res.Changes, Change{Check: "files.config_mode", Target: e.file, Action: fmt.Sprintf("mode %04o -> %04o", cfgMode, newMode)})
	}
	// Config edits.
	var edits []edit
	if e.raw != nil {
		if want["channels.dm_policy_open"] {
			if n := e.node("channels.dm_policy"); n != nil {
				edits = append(edits, edit{node: n, value: config.DMPolicyPairing})
				res.Changes = append(res.Changes, Change{Check: "channels.dm_policy_open", Target: fmt.Sprintf("%s:%d", e.file, n.Line), Action: "channels.dm_policy: open -> pairing"})
			}
		}
		if want["channels.allow_wildcard"] {
			for _, ch := range channelNames {
				seq := e.node("channels." + ch + ".allow_from")
				if seq == nil || seq.Kind != yaml.SequenceNode {
					continue
				}
				for i, item := range seq.Content {
					if strings.TrimSpace(item.Value) == "*" {
						edits = append(edits, edit{node: item, seq: seq, remove: true})
						res.Changes = append(res.Changes, Change{Check: "channels.allow_wildcard", Target: fmt.Sprintf("%s:%d", e.file, item.Line),
							Action: fmt.Sprintf(`removed "*" from channels.%s.allow_from[%d]`, ch, i)})
					}
				}
			}
		}
		if want["log.retention"] {
			if n := e.node("security.audit.retention_days"); n != nil {
				edits = append(edits, edit{node: n, value: "90"})
				res.Changes = append(res.Changes, Change{Check: "log.retention", Target: fmt.Sprintf("%s:%d", e.file, n.Line), Action: "security.audit.retention_days: 0 -> 90"})
			}
		}
	} else {
		for _, id := range []string{"channels.dm_policy_open", "channels.allow_wildcard", "log.retention"} {
			if want[id] {
				res.Left = append(res.Left, id+" (encrypted config: edit it with `warden config edit` or sops)")
			}
		}
	}
	if dryRun || e.file == "" {
		return res, nil
	}
	switch {
	case len(edits) > 0:
		out, err := applyEdits(o.Raw, edits)
		if err != nil {
			return res, err
		}
		if err := atomicfile.Write(e.file, out, atomicfile.Options{Mode: newMode}); err != nil {
			return res, err
		}
	case newMode != cfgMode:
		if err := os.Chmod(e.file, newMode); err != nil {
			return res, fmt.Errorf("chmod %s: %w", e.file, err)
		}
	}
	return res, nil
}

func chmod(path string, mode fs.FileMode, dryRun bool) error {
	if dryRun {
		return nil
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}

// edit replaces a scalar's text with value, or removes an item of seq.
type edit struct {
	node   *yaml.Node
	value  string
	seq    *yaml.Node
	remove bool
}

// ErrEdit means a config edit could not be applied safely.
var ErrEdit = errors.New("cannot edit the config safely")

// applyEdits changes the file's text in place: only the edited scalars
// and list items change, comments and layout stay. The result must still
// be one YAML document.
func applyEdits(src []byte, edits []edit) ([]byte, error) {
	lines := strings.SplitAfter(string(src), "\n")
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].node.Line != edits[j].node.Line {
			return edits[i].node.Line > edits[j].node.Line
		}
		return edits[i].node.Column > edits[j].node.Column
	})
	for _, ed := range edits {
		li, col := ed.node.Line-1, ed.node.Column-1
		if li < 0 || li >= len(lines) || col < 0 || col > len(lines[li]) {
			return nil, fmt.Errorf("%w: line %d", ErrEdit, ed.node.Line)
		}
		line := lines[li]
		end := scalarEnd(line, col, ed.node)
		if end < 0 {
			return nil, fmt.Errorf("%w: line %d: value not where the parser put it", ErrEdit, ed.node.Line)
		}
		if !ed.remove {
			lines[li] = line[:col] + ed.value + line[end:]
			continue
		}
		if ed.seq.Style&yaml.FlowStyle == 0 {
			if !strings.HasPrefix(strings.TrimSpace(line[:col]), "-") || strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line[:col]), "-")) != "" {
				return nil, fmt.Errorf("%w: line %d: list item shares its line", ErrEdit, ed.node.Line)
			}
			lines[li] = ""
			continue
		}
		// Flow list: drop the item and one neighbouring comma.
		before, after := line[:col], line[end:]
		if t := strings.TrimLeft(after, " "); strings.HasPrefix(t, ",") {
			after = strings.TrimLeft(t[1:], " ")
		} else if t := strings.TrimRight(before, " "); strings.HasSuffix(t, ",") {
			before = t[:len(t)-1]
		}
		lines[li] = before + after
	}
	out := []byte(strings.Join(lines, ""))
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("%w: the edited file does not parse: %v", ErrEdit, err)
	}
	return out, nil
}

// scalarEnd returns where the scalar starting at col ends on line, or -1.
func scalarEnd(line string, col int, n *yaml.Node) int {
	rest := line[col:]
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0 && strings.HasPrefix(rest, `"`):
		for i := 1; i < len(rest); i++ {
			if rest[i] == '\\' {
				i++
				continue
			}
			if rest[i] == '"' {
				return col + i + 1
			}
		}
		return -1
	case n.Style&yaml.SingleQuotedStyle != 0 && strings.HasPrefix(rest, `'`):
		for i := 1; i < len(rest); i++ {
			if rest[i] == '\'' {
				if i+1 < len(rest) && rest[i+1] == '\'' {
					i++
					continue
				}
				return col + i + 1
			}
		}
		return -1
	case strings.HasPrefix(rest, n.Value):
		return col + len(n.Value)
	}
	return -1
}
