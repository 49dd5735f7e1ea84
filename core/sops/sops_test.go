package sops

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"
)

const sample = `# Warden configuration
version: 1
gateway:
  listen: 127.0.0.1:7420 # loopback only
  auth:
    # machine token
    token: 7c1e9a4f2b8d6e0a3c5f7b9d1e3a5c7f
    access_ttl: 15m
  ratio: 1.5
  big: 1e3
  enabled: true
  empty: ""
  nothing:
channels:
  allow_from:
    - "123456"
    # the second owner
    - "789012"
  list_of_maps:
    - id: 1
      name: first
    - id: 2
      name: second
security:
  audit:
    suppressions:
      - id: gateway.metrics
        reason: |
          metrics are scraped over a
          private network
        expires: 2026-12-31
plain_unencrypted: visible
unicode: "héllo wörld ✓"
`

func newIdentity(t *testing.T) (*age.X25519Identity, Recipient) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRecipient(id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	return id, r
}

func encryptSample(t *testing.T, src string, recipients ...Recipient) []byte {
	t.Helper()
	root, err := parseDocument([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	key, err := NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := WrapDataKey(key, recipients...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encrypt(root, EncryptOptions{Keys: keys, DataKey: key, Now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decode(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, data)
	}
	return normalizeNumbers(v)
}

// normalizeNumbers turns ints into float64: the reference writes the float
// 1e3 back as 1000, which YAML then reads as an integer.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

func nodeBytes(t *testing.T, n *yaml.Node) []byte {
	t.Helper()
	b, err := Marshal(n, 2)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	id, r := newIdentity(t)
	enc := encryptSample(t, sample, r)
	s := string(enc)
	for _, secret := range []string{"7c1e9a4f2b8d6e0a3c5f7b9d1e3a5c7f", "127.0.0.1", "machine token", "second owner", "private network"} {
		if strings.Contains(s, secret) {
			t.Errorf("encrypted output contains plaintext %q", secret)
		}
	}
	for _, visible := range []string{"gateway:", "token: ENC[AES256_GCM,", "plain_unencrypted: visible", "#ENC[AES256_GCM,", "recipient: " + r.Label} {
		if !strings.Contains(s, visible) {
			t.Errorf("encrypted output lacks %q", visible)
		}
	}
	doc, err := Decrypt(enc, id)
	if err != nil {
		t.Fatalf("decrypt: %v\n%s", err, enc)
	}
	got := nodeBytes(t, doc.Root)
	if !reflect.DeepEqual(decode(t, got), decode(t, []byte(sample))) {
		t.Fatalf("round trip changed the data:\n%s", got)
	}
	for _, c := range []string{"# machine token", "# loopback only", "# the second owner", "# Warden configuration"} {
		if !strings.Contains(string(got), c) {
			t.Errorf("comment %q lost:\n%s", c, got)
		}
	}
	// Line numbers of the encrypted file survive decryption.
	tok := lookup(doc.Root, "gateway", "auth", "token")
	if tok == nil || tok.Line != lineOf(s, "token:") || !doc.Encrypted[tok] {
		t.Fatalf("token node %+v, line want %d", tok, lineOf(s, "token:"))
	}
	if vis := lookup(doc.Root, "plain_unencrypted"); doc.Encrypted[vis] {
		t.Fatal("unencrypted_suffix value reported as encrypted")
	}
}

func lineOf(s, sub string) int {
	for i, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return i + 1
		}
	}
	return -1
}

func lookup(doc *yaml.Node, path ...string) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	for _, k := range path {
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

func TestWrongIdentityNamesRecipients(t *testing.T) {
	_, r1 := newIdentity(t)
	_, r2 := newIdentity(t)
	other, _ := newIdentity(t)
	enc := encryptSample(t, sample, r1, r2)
	_, err := Decrypt(enc, other)
	var nie *NoIdentityError
	if !errors.As(err, &nie) || !errors.Is(err, ErrNoMatchingIdentity) {
		t.Fatalf("err = %v, want NoIdentityError", err)
	}
	if !reflect.DeepEqual(nie.Recipients, []string{r1.Label, r2.Label}) {
		t.Fatalf("recipients %v", nie.Recipients)
	}
}

func TestEveryRecipientDecrypts(t *testing.T) {
	id1, r1 := newIdentity(t)
	id2, r2 := newIdentity(t)
	enc := encryptSample(t, sample, r1, r2)
	for _, id := range []age.Identity{id1, id2} {
		if _, err := Decrypt(enc, id); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPassphraseRecipient(t *testing.T) {
	sr, err := age.NewScryptRecipient("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	sr.SetWorkFactor(10)
	enc := encryptSample(t, sample, Recipient{Label: PassphraseRecipient, Recipient: sr})
	si, _ := age.NewScryptIdentity("correct horse battery staple")
	if _, err := Decrypt(enc, si); err != nil {
		t.Fatal(err)
	}
	bad, _ := age.NewScryptIdentity("wrong")
	if _, err := Decrypt(enc, bad); err == nil {
		t.Fatal("wrong passphrase accepted")
	}
}

// tamper applies edit to the encrypted file and expects err to match.
func TestTamperDetected(t *testing.T) {
	id, r := newIdentity(t)
	enc := string(encryptSample(t, sample, r))
	lines := strings.Split(enc, "\n")
	find := func(prefix string) int {
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return i
			}
		}
		t.Fatalf("no line %q", prefix)
		return -1
	}
	valueOf := func(i int) string { return strings.SplitN(lines[i], ": ", 2)[1] }
	with := func(edit func(ls []string) []string) string {
		ls := append([]string(nil), lines...)
		return strings.Join(edit(ls), "\n")
	}
	cases := []struct {
		name  string
		data  string
		check func(error) bool
	}{
		{"edit ciphertext", with(func(ls []string) []string {
			i := find("token:")
			ls[i] = strings.Replace(ls[i], "data:", "data:AAAA", 1)
			return ls
		}), isValueError},
		{"move value to another key", with(func(ls []string) []string {
			i, j := find("token:"), find("access_ttl:")
			vi, vj := valueOf(i), valueOf(j)
			ls[i] = strings.Replace(ls[i], vi, vj, 1)
			ls[j] = strings.Replace(ls[j], vj, vi, 1)
			return ls
		}), isValueError},
		{"reorder list items", with(func(ls []string) []string {
			i := find("- ENC[") // first allow_from entry
			j := i + 1
			for !strings.HasPrefix(strings.TrimSpace(ls[j]), "- ENC[") {
				j++
			}
			ls[i], ls[j] = ls[j], ls[i]
			return ls
		}), macMismatch},
		{"remove a value", with(func(ls []string) []string {
			i := find("ratio:")
			return append(ls[:i:i], ls[i+1:]...)
		}), macMismatch},
		{"edit a value left in the clear", with(func(ls []string) []string {
			i := find("plain_unencrypted:")
			ls[i] = strings.Replace(ls[i], "visible", "changed", 1)
			return ls
		}), macMismatch},
		{"replace a value with plaintext", with(func(ls []string) []string {
			i := find("listen:")
			ls[i] = "    listen: 0.0.0.0:7420"
			return ls
		}), isValueError},
		{"change lastmodified", with(func(ls []string) []string {
			i := find("lastmodified:")
			ls[i] = `    lastmodified: "2030-01-01T00:00:00Z"`
			return ls
		}), macMismatch},
		{"add a value left in the clear", with(func(ls []string) []string {
			i := find("plain_unencrypted:")
			return append(ls[:i+1:i+1], append([]string{"extra_unencrypted: 1"}, ls[i+1:]...)...)
		}), macMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decrypt([]byte(c.data), id)
			if err == nil || !c.check(err) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func isValueError(err error) bool { var ve *ValueError; return errors.As(err, &ve) }
func macMismatch(err error) bool  { return errors.Is(err, ErrMACMismatch) }

func TestRejectsAliasesAndMultiDoc(t *testing.T) {
	_, r := newIdentity(t)
	for _, src := range []string{"a: &x 1\nb: *x\n", "a: 1\n---\nb: 2\n", "- a\n- b\n", "a:\n  <<: {b: 1}\n"} {
		root, err := parseDocument([]byte(src))
		if err == nil {
			key, _ := NewDataKey()
			keys, _ := WrapDataKey(key, r)
			_, err = Encrypt(root, EncryptOptions{Keys: keys, DataKey: key})
		}
		if err == nil {
			t.Errorf("accepted %q", src)
		}
	}
}

func TestAlreadyEncrypted(t *testing.T) {
	_, r := newIdentity(t)
	enc := encryptSample(t, "a: 1\n", r)
	root, err := parseDocument(enc)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := NewDataKey()
	keys, _ := WrapDataKey(key, r)
	if _, err := Encrypt(root, EncryptOptions{Keys: keys, DataKey: key}); !errors.Is(err, ErrAlreadyEncrypted) {
		t.Fatalf("err = %v", err)
	}
	if !IsEncrypted(enc) || IsEncrypted([]byte("a: 1\n")) {
		t.Fatal("IsEncrypted wrong")
	}
}

// --- interoperability with the real sops binary ---

func sopsBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sops")
	if err != nil {
		t.Fatal("the sops binary is not on PATH; scripts/test installs it " +
			"(go install github.com/getsops/sops/v3/cmd/sops@v3.13.3)")
	}
	return p
}

func writeKey(t *testing.T, dir string, id *age.X25519Identity) string {
	p := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(p, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func sopsEnv(keyFile string) []string {
	env := []string{"SOPS_AGE_KEY_FILE=" + keyFile, "HOME=" + filepath.Dir(keyFile), "PATH=" + os.Getenv("PATH")}
	return env
}

func TestSopsDecryptsWardenFiles(t *testing.T) {
	bin := sopsBinary(t)
	dir := t.TempDir()
	id, r := newIdentity(t)
	keyFile := writeKey(t, dir, id)
	enc := encryptSample(t, sample, r)
	f := filepath.Join(dir, "warden.enc.yaml")
	os.WriteFile(f, enc, 0o600)
	cmd := exec.Command(bin, "--decrypt", f)
	cmd.Env = sopsEnv(keyFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sops -d: %v\n%s\nfile:\n%s", err, out, enc)
	}
	if !reflect.DeepEqual(decode(t, out), decode(t, []byte(sample))) {
		t.Fatalf("sops decrypted something else:\n%s", out)
	}
	if !strings.Contains(string(out), "# the second owner") || !strings.Contains(string(out), "# machine token") {
		t.Fatalf("sops did not recover the comments:\n%s", out)
	}
}

func TestWardenDecryptsSopsFiles(t *testing.T) {
	bin := sopsBinary(t)
	dir := t.TempDir()
	id, r := newIdentity(t)
	keyFile := writeKey(t, dir, id)
	plain := filepath.Join(dir, "plain.yaml")
	os.WriteFile(plain, []byte(sample), 0o600)
	for _, extra := range [][]string{nil, {"--encrypted-regex", "^(token|listen)$"}, {"--mac-only-encrypted"}} {
		args := append([]string{"--encrypt", "--age", r.Label}, extra...)
		cmd := exec.Command(bin, append(args, plain)...)
		cmd.Env = sopsEnv(keyFile)
		enc, err := cmd.Output()
		if err != nil {
			t.Fatalf("sops -e %v: %v", extra, err)
		}
		doc, err := Decrypt(enc, id)
		if err != nil {
			t.Fatalf("decrypt sops file (%v): %v\n%s", extra, err, enc)
		}
		got := nodeBytes(t, doc.Root)
		if !reflect.DeepEqual(decode(t, got), decode(t, []byte(sample))) {
			t.Fatalf("decrypted sops file (%v) differs:\n%s", extra, got)
		}
		if !strings.Contains(string(got), "# the second owner") {
			t.Fatalf("comment inside a list lost (%v):\n%s", extra, got)
		}
	}
}

func TestSopsDetectsWardenTamper(t *testing.T) {
	bin := sopsBinary(t)
	dir := t.TempDir()
	id, r := newIdentity(t)
	keyFile := writeKey(t, dir, id)
	enc := strings.Replace(string(encryptSample(t, sample, r)), "plain_unencrypted: visible", "plain_unencrypted: changed", 1)
	f := filepath.Join(dir, "t.enc.yaml")
	os.WriteFile(f, []byte(enc), 0o600)
	cmd := exec.Command(bin, "--decrypt", f)
	cmd.Env = sopsEnv(keyFile)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "MAC mismatch") {
		t.Fatalf("sops accepted a tampered file: %v\n%s", err, out)
	}
}
