package commands

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func completeWords(t *testing.T, app *cli.App, w *wiring, line string) completionResult {
	t.Helper()
	words := strings.Fields(line)
	if strings.HasSuffix(line, " ") || line == "" {
		words = append(words, "")
	}
	return w.complete(app, words)
}

func values(r completionResult) []string {
	var out []string
	for _, it := range r.items {
		out = append(out, it.value)
	}
	return out
}

// Completion follows the command tree: every visible command is offered
// under its parent, with its purpose, and every visible flag under its
// command; hidden commands are never offered. A command or flag added
// later is covered without a change here.
func TestCompletionCoversTheTree(t *testing.T) {
	env := testEnv(new(bytes.Buffer), new(bytes.Buffer))
	app := newApp(env)
	w := &wiring{env: env}
	root := completeWords(t, app, w, "")
	if slices.Contains(values(root), completeCommandName) {
		t.Errorf("the hidden %s is offered", completeCommandName)
	}
	n := 0
	walk(app.Commands, "", func(name string, c *cli.Command) {
		if c.Hidden {
			return
		}
		n++
		parent := strings.TrimSpace(strings.TrimSuffix(name, c.Name))
		r := completeWords(t, app, w, strings.TrimSpace(parent+" "+c.Name[:1]))
		found := false
		for _, it := range r.items {
			if it.value == c.Name {
				found = true
				if it.desc != c.Usage {
					t.Errorf("%s: description %q, want its usage", name, it.desc)
				}
			}
		}
		if !found {
			t.Errorf("%s: not offered after %q (got %v)", name, parent+" "+c.Name[:1], values(r))
		}
		if len(c.Subcommands) > 0 {
			return
		}
		flags := values(completeWords(t, app, w, strings.TrimSpace(name)+" --"))
		for _, f := range c.Flags {
			if flagVisible(f) && !slices.Contains(flags, "--"+f.Names()[0]) {
				t.Errorf("%s: --%s not offered (got %v)", name, f.Names()[0], flags)
			}
		}
	})
	if n < 40 {
		t.Fatalf("walked only %d commands", n)
	}
}

// Flag values come from the usage text's list of choices, so every format
// flag completes to the formats its command accepts, its default first
// among them.
func TestEveryFormatFlagCompletes(t *testing.T) {
	app := newApp(testEnv(new(bytes.Buffer), new(bytes.Buffer)))
	n := 0
	walk(app.Commands, "warden", func(name string, c *cli.Command) {
		for _, f := range c.Flags {
			sf, ok := f.(*cli.StringFlag)
			if !ok || sf.Name != "format" && sf.Name != "log-format" {
				continue
			}
			n++
			ch := flagChoices(f)
			if len(ch) == 0 {
				t.Errorf("%s --%s: usage %q lists no choices", name, sf.Name, sf.Usage)
				continue
			}
			if sf.Value != "" && !slices.Contains(ch, sf.Value) {
				t.Errorf("%s --%s: default %q is not among %v", name, sf.Name, sf.Value, ch)
			}
		}
	})
	if n < 20 {
		t.Fatalf("found only %d format flags", n)
	}
}

func TestFlagChoices(t *testing.T) {
	cases := []struct {
		usage string
		want  []string
	}{
		{"output format: table, json", []string{"table", "json"}},
		{"table, json, sarif or markdown", []string{"table", "json", "sarif", "markdown"}},
		{"output format: jsonl", []string{"jsonl"}},
		{"exit 1 on an open finding of `SEVERITY` or worse (critical, high, medium, low, info)", []string{"critical", "high", "medium", "low", "info"}},
		{"a name for the token (required)", nil},
		{"lifetime such as 30d or 12h (default: no expiry)", nil},
		{"random bytes for --generate (16 to 256)", nil},
		{"config file (default: ./warden.yaml or ./warden.enc.yaml, then the user config dir; none: embedded defaults)", nil},
		{"gateway listen address", nil},
	}
	for _, c := range cases {
		got := flagChoices(&cli.StringFlag{Name: "x", Usage: c.usage})
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: %v, want %v", c.usage, got, c.want)
		}
	}
}

// The words after a flag that takes a value are that value, not a
// command; "--" hands the rest of the line to the shell's file names.
func TestCompletionReadsTheLine(t *testing.T) {
	env := testEnv(new(bytes.Buffer), new(bytes.Buffer))
	app := newApp(env)
	w := &wiring{env: env}
	cases := []struct {
		line  string
		want  []string
		files bool
	}{
		{"--config users users ", []string{"add", "list", "disable", "passwd", "2fa"}, false},
		{"users add --role op", []string{"operator"}, false},
		{"users add bob --role=a", []string{"--role=admin", "--role=agent"}, false},
		{"tokens create --name ci --", []string{"--role", "--expires", "--format", "--config", "--state-dir", "--identity", "--passphrase-file", "--no-input", "--help"}, false},
		{"sandbox run -- ls ", nil, true},
		{"config validate ", nil, true},
		{"--config ", nil, true},
		{"tokens create --name ", nil, false},
		{"nosuch ", nil, false},
		{"completion bash ", nil, false},
	}
	for _, c := range cases {
		r := completeWords(t, app, w, c.line)
		if r.files != c.files || !slices.Equal(values(r), c.want) {
			t.Errorf("%q: files=%v %v, want files=%v %v", c.line, r.files, values(r), c.files, c.want)
		}
	}
}
