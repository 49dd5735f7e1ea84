package commands

import (
	"context"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	// Seven equal lines between the changes: two hunks (six would be one,
	// as diff -u joins hunks whose contexts touch).
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n"
	b := "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\nl\n"
	want := `--- x
+++ y
@@ -1,7 +1,7 @@
 a
 b
 c
-d
+D
 e
 f
 g
@@ -9,3 +9,4 @@
 i
 j
 k
+l
`
	if got := unifiedDiff("x", "y", a, b); got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
}

func TestMigratorLeavesGoodConfigAlone(t *testing.T) {
	data := []byte("version: 1\n# a comment\nchannels:\n  dm_policy: pairing\n")
	m, err := newMigrator(context.Background(), "w.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.changes) != 0 || string(m.result) != string(data) {
		t.Errorf("changes %v; result %q", m.changes, m.result)
	}
}

func TestMigratorKeepsComments(t *testing.T) {
	data := []byte("version: 1\nchannels:\n  # who may write\n  dm_policy: open # was the default\n")
	m, err := newMigrator(context.Background(), "w.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	got := string(m.result)
	for _, want := range []string{"# who may write", "dm_policy: pairing # was the default"} {
		if !strings.Contains(got, want) {
			t.Errorf("result lacks %q:\n%s", want, got)
		}
	}
	if len(m.changes) != 1 || m.changes[0].Key != "channels.dm_policy" || m.changes[0].Line != 4 {
		t.Errorf("changes %+v", m.changes)
	}
}
