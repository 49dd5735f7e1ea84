package secrets

import (
	"strings"
	"testing"
)

func TestIsKey(t *testing.T) {
	const key = "AGE-SECRET-KEY-1092HD7WEE48XTV0S062E3YT7NZGST7F2Q5C2RVPLDVD3H6CUHVTSWJ0EVJ"
	for _, v := range []string{key, " " + key + "\n", strings.ToLower(key),
		"AGE-SECRET-KEY-PQ-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"} {
		if !IsKey(v) || !ContainsKey(v) {
			t.Errorf("%q not taken for a key", v)
		}
	}
	for _, v := range []string{"", "identity.txt", "/home/u/age-secret-key-backup.txt", "age-secret-key-1.txt",
		"x" + key} {
		if IsKey(v) {
			t.Errorf("%q taken for a key", v)
		}
	}
	if !ContainsKey("--identity=" + key) {
		t.Error("a key inside a longer value is missed")
	}
	if ContainsKey("--identity=/home/u/age-secret-key-backup.txt") {
		t.Error("a file name taken for a key")
	}
}
