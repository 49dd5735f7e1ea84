package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/warden-sec/warden/internal/lazyre"
)

// Duration is a time.Duration written as 15m, 24h, 1h30m or 30d.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

var durationPattern = lazyre.New(`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h|d))+$`)

// ParseDuration parses Go durations plus a "d" (24h) unit.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if !durationPattern.MatchString(s) {
		return 0, fmt.Errorf("%q is not a duration (write e.g. 90s, 15m, 24h or 30d)", s)
	}
	var total time.Duration
	for _, part := range regexp.MustCompile(`[0-9.]+[^0-9.]+`).FindAllString(s, -1) {
		if strings.HasSuffix(part, "d") {
			n, err := strconv.ParseFloat(strings.TrimSuffix(part, "d"), 64)
			if err != nil || n*24 > math.MaxInt64/float64(time.Hour) {
				return 0, fmt.Errorf("%q is out of range", s)
			}
			total += time.Duration(n * 24 * float64(time.Hour))
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", s, err)
		}
		total += d
	}
	return total, nil
}

// FormatDuration writes d in the largest whole unit (30d, 24h, 15m, 90s).
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// ByteSize is a size in bytes, written as a number or with a unit
// (512KiB, 10MiB, 1GiB, or decimal kB/MB/GB).
type ByteSize int64

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
}

var sizePattern = lazyre.New(`^([0-9]+)\s*([A-Za-z]*)$`)

// ParseByteSize parses 10MiB, 512 KiB, 1GB or a plain number of bytes.
func ParseByteSize(s string) (int64, error) {
	m := sizePattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size (write e.g. 512KiB, 10MiB or 1GiB)", s)
	}
	unit, ok := sizeUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)", s, m[2])
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return n * unit, nil
}

func (b ByteSize) String() string {
	n := int64(b)
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return strconv.FormatInt(n, 10)
}

// MarshalJSON writes the size as a number of bytes.
func (b ByteSize) MarshalJSON() ([]byte, error) { return json.Marshal(int64(b)) }

// Date is a calendar day (YYYY-MM-DD); a full timestamp is accepted too.
type Date struct{ time.Time }

// ParseDate parses YYYY-MM-DD or an RFC 3339 timestamp.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return Date{t}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return Date{t.UTC()}, nil
	}
	return Date{}, fmt.Errorf("%q is not a date (write YYYY-MM-DD)", s)
}

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	if d.Equal(d.Truncate(24*time.Hour)) && d.Location() == time.UTC {
		return d.Format("2006-01-02")
	}
	return d.Format(time.RFC3339)
}

// MarshalJSON writes the date as text, or null when unset.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// SecretPrefix marks a reference to the secret store.
const SecretPrefix = "secret:"

// Redacted is what a secret value prints as.
const Redacted = "[REDACTED]"

// Secret is a value that must not leak: either a reference secret:NAME to
// the encrypted secret store, or (only in encrypted config files) the
// value itself. It never prints its value: String, %v, %#v, JSON and slog
// all show the reference or [REDACTED]. Reveal returns the value.
type Secret struct {
	ref      string
	value    string
	inline   bool
	resolved bool
}

// SecretRef returns a Secret that refers to the store entry name.
func SecretRef(name string) Secret { return Secret{ref: name} }

// InlineSecret returns a Secret holding value itself.
func InlineSecret(value string) Secret { return Secret{value: value, inline: true, resolved: true} }

func parseSecret(s string) Secret {
	if strings.HasPrefix(s, SecretPrefix) {
		return Secret{ref: strings.TrimPrefix(s, SecretPrefix)}
	}
	return InlineSecret(s)
}

// IsZero reports whether no secret is set.
func (s Secret) IsZero() bool { return s.ref == "" && s.value == "" }

// Ref is the secret store name, or "" for an inline value.
func (s Secret) Ref() string { return s.ref }

// Inline reports whether the value was written in the file itself.
func (s Secret) Inline() bool { return s.inline }

// Resolved reports whether Reveal returns the value.
func (s Secret) Resolved() bool { return s.resolved }

// Reveal returns the secret value; "" when it is a reference not yet resolved.
func (s Secret) Reveal() string { return s.value }

// withValue returns the reference resolved to value.
func (s Secret) withValue(v string) Secret {
	s.value, s.resolved = v, true
	return s
}

// String shows the reference, or [REDACTED] for an inline value.
func (s Secret) String() string {
	switch {
	case s.ref != "":
		return SecretPrefix + s.ref
	case s.value != "":
		return Redacted
	}
	return ""
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format keeps every fmt verb from printing the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalJSON writes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText writes the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue keeps slog from logging the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
