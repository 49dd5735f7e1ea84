package auditlog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Outcomes used across Warden.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeDenied  = "denied"
	OutcomeAllowed = "allowed"
)

// ActionRetentionPurge is the action of the entry a retention purge appends.
const ActionRetentionPurge = "retention_purge"

// Limits on field sizes; longer values are cut (and marked) rather than
// refused, so an oversized request cannot make auditing fail.
const (
	maxField   = 512
	maxDetails = 16 << 10
)

// Event is what a caller records.
type Event struct {
	Time     time.Time // zero means now
	Actor    string    // who: "user:alice", "token:ci", "cli:root", "system"
	Action   string    // what: "login", "secret.set", "sandbox.exec", …
	Target   string    // on what: a user, session, secret name, command
	Outcome  string    // success, failure, denied, allowed
	SourceIP string
	// Details adds context. Values must be strings, booleans, integers,
	// nil, or nested maps and slices of those. Keys that name secrets
	// (password, token, secret, …) are redacted; never pass secret values.
	Details map[string]any
}

// Entry is a recorded event with its place in the chain.
type Entry struct {
	Seq      uint64          `json:"seq"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Target   string          `json:"target"`
	Outcome  string          `json:"outcome"`
	SourceIP string          `json:"sourceIp"`
	Details  json.RawMessage `json:"details"` // canonical JSON object
	PrevHash []byte          `json:"-"`
	Hash     []byte          `json:"-"`
}

const bodyVersion = 1

// Encode returns the canonical encoding of an entry's fields, the bytes its
// HMAC covers after the previous hash:
//
//	version (1 byte) | seq (uint64, big endian) | time (int64 Unix ns, big endian)
//	| then actor, action, target, outcome, source IP and details, each as
//	  uvarint length + UTF-8 bytes
//
// details is the canonical JSON of the details object (RFC 8785 style:
// sorted keys, no insignificant space, integers only).
func (e *Entry) Encode() []byte {
	n := 1 + 16 + len(e.Actor) + len(e.Action) + len(e.Target) + len(e.Outcome) + len(e.SourceIP) + len(e.Details) + 6*binary.MaxVarintLen32
	b := make([]byte, 0, n)
	b = append(b, bodyVersion)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	for _, s := range []string{e.Actor, e.Action, e.Target, e.Outcome, e.SourceIP, string(e.Details)} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errBody = errors.New("malformed entry body")

// Decode parses a canonical encoding back into e's fields (not the hashes).
func (e *Entry) Decode(b []byte) error {
	if len(b) < 17 || b[0] != bodyVersion {
		return errBody
	}
	e.Seq = binary.BigEndian.Uint64(b[1:9])
	e.Time = time.Unix(0, int64(binary.BigEndian.Uint64(b[9:17]))).UTC()
	b = b[17:]
	var fields [6]string
	for i := range fields {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return errBody
		}
		fields[i] = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	if len(b) != 0 {
		return errBody
	}
	e.Actor, e.Action, e.Target, e.Outcome, e.SourceIP = fields[0], fields[1], fields[2], fields[3], fields[4]
	e.Details = json.RawMessage(fields[5])
	return nil
}

// DetailsMap decodes the details object.
func (e *Entry) DetailsMap() map[string]any {
	m := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(e.Details))
	dec.UseNumber()
	_ = dec.Decode(&m)
	return m
}

// redactedKeys are detail keys (or key suffixes after _ or -) whose values
// are replaced: the audit log must never hold a secret.
var redactedKeys = []string{"password", "passphrase", "passwd", "secret", "token", "apikey", "api_key", "authorization",
	"cookie", "otp", "totp", "recovery_code", "pairing_code", "setup_code", "private_key", "privatekey", "credential",
	"credentials", "value"}

// Redacted replaces a redacted value.
const Redacted = "[REDACTED]"

func redactKey(k string) bool {
	lk := k
	for i := 0; i < len(k); i++ {
		if c := k[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			lk = strings.ToLower(k)
			break
		}
	}
	for _, r := range redactedKeys {
		if lk == r || strings.HasSuffix(lk, "_"+r) || strings.HasSuffix(lk, "-"+r) {
			return true
		}
	}
	return false
}

// CanonicalDetails returns the canonical JSON of details with secret-named
// keys redacted and the size bounded.
func CanonicalDetails(details map[string]any) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := writeCanonical(&buf, redact(details), 0); err != nil {
		return nil, fmt.Errorf("audit details: %w", err)
	}
	if buf.Len() > maxDetails {
		buf.Reset()
		_ = writeCanonical(&buf, map[string]any{"truncated": true, "size": int64(buf.Len())}, 0)
	}
	return json.RawMessage(buf.Bytes()), nil
}

func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if redactKey(k) && val != nil && val != "" {
				if _, isBool := val.(bool); !isBool {
					out[k] = Redacted
					continue
				}
			}
			out[k] = redact(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redact(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	}
	return v
}

// writeCanonical writes v as canonical JSON: object keys sorted by UTF-16
// code units, no whitespace, integers in decimal, strings with minimal
// escaping. Floats are refused: they have no single canonical spelling.
func writeCanonical(b *bytes.Buffer, v any, depth int) error {
	if depth > 32 {
		return errors.New("details nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		writeString(b, x)
	case int:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case uint32:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err != nil {
			return fmt.Errorf("number %s is not an integer", x)
		}
		b.WriteString(string(x))
	case time.Time:
		writeString(b, x.UTC().Format(time.RFC3339Nano))
	case time.Duration:
		writeString(b, x.String())
	case fmt.Stringer:
		writeString(b, x.String())
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return lessUTF16(keys[i], keys[j]) })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			if err := writeCanonical(b, x[k], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return writeCanonical(b, m, depth)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, e)
		}
		b.WriteByte(']')
	case float64, float32:
		return fmt.Errorf("floating point value %v: use an integer or a string", x)
	case error:
		writeString(b, x.Error())
	default:
		return fmt.Errorf("unsupported value of type %T", v)
	}
	return nil
}

func lessUTF16(a, b string) bool {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return ua[i] < ub[i]
		}
	}
	return len(ua) < len(ub)
}

func writeString(b *bytes.Buffer, s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// Recanonicalize parses a details object and writes it canonically again;
// an exported entry verifies only if its details survive this unchanged.
func Recanonicalize(raw []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, errors.New("details must be a JSON object")
	}
	var buf bytes.Buffer
	if err := writeCanonical(&buf, v, 0); err != nil {
		return nil, err
	}
	return json.RawMessage(buf.Bytes()), nil
}

// clip bounds a field's length, cutting at a rune boundary.
func clip(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= maxField {
		return s
	}
	cut := maxField - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
