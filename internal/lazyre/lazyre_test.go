package lazyre

import "testing"

func TestCompiledOnFirstUseOnly(t *testing.T) {
	r := New(`^[a-z]{1,3}$`)
	if r.re != nil {
		t.Fatal("compiled before use")
	}
	if !r.MatchString("abc") || r.MatchString("abcd") {
		t.Fatal("wrong matches")
	}
	first := r.Re()
	if r.Re() != first {
		t.Fatal("compiled twice")
	}
	if got := r.FindStringSubmatch("ab"); len(got) != 1 || got[0] != "ab" {
		t.Fatalf("%q", got)
	}
}

func TestBadPatternPanicsOnUse(t *testing.T) {
	r := New(`(`)
	defer func() {
		if recover() == nil {
			t.Fatal("a bad pattern did not panic")
		}
	}()
	r.MatchString("x")
}
