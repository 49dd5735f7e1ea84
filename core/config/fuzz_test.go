package config

import (
	"context"
	"errors"
	"testing"
)

// FuzzParse: any input either loads or yields diagnostics; never a panic,
// never a config without an error for diagnostics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"version: 1\n",
		"version: 1\ngateway:\n  listen: 0.0.0.0:1\n  auth: {token: x}\n",
		"version: 1\nchannels:\n  dm_policy: open\n  telegram: {enabled: true, allow_from: ['*']}\n",
		"version: 1\nsecurity:\n  audit:\n    suppressions: [{id: a, reason: b, expires: 2027-01-01}]\n",
		"a: &x [1]\nb: *x\n",
		"version: 1\ngateway:\n  max_body_bytes: 99999999999999999999GiB\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(context.Background(), "fuzz.yaml", data, nil)
		var ve *ValidationError
		switch {
		case err == nil && l == nil:
			t.Fatal("nil config without error")
		case errors.As(err, &ve) && len(ve.Diagnostics) == 0:
			t.Fatal("validation error without diagnostics")
		}
	})
}
