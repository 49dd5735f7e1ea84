package auditlog

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Held events are written by the next Append with their context, first,
// in order, and chained like any other entry.
func TestDeferredRidesWithTheNextAppend(t *testing.T) {
	f := newFixture(t)
	f.append(2)
	ctx, d := WithDeferred(context.Background())
	d.Add(Event{Actor: "token:agent", Action: "token.auth", Outcome: OutcomeSuccess})
	d.Add(Event{Actor: "token:agent", Action: "second", Outcome: OutcomeSuccess})
	if h, _ := f.log.Head(ctx); h.Seq != 2 {
		t.Fatalf("held events were written before an append: head %d", h.Seq)
	}
	e, err := f.log.Append(ctx, Event{Actor: "token:agent", Action: "sandbox.exec", Outcome: OutcomeAllowed})
	if err != nil || e.Seq != 5 || e.Action != "sandbox.exec" {
		t.Fatalf("%+v %v", e, err)
	}
	if d.Held() != 0 {
		t.Fatalf("%d still held", d.Held())
	}
	var got []string
	f.log.Each(ctx, 3, time.Time{}, func(en Entry) error { got = append(got, en.Action); return nil })
	if len(got) != 3 || got[0] != "token.auth" || got[1] != "second" || got[2] != "sandbox.exec" {
		t.Fatalf("order: %v", got)
	}
	if rep := f.verify(); !rep.OK || rep.Entries != 5 {
		t.Fatalf("%+v", rep)
	}
	// Nothing held: Flush writes nothing.
	if err := d.Flush(ctx, f.log); err != nil {
		t.Fatal(err)
	}
	if h, _ := f.log.Head(ctx); h.Seq != 5 {
		t.Fatalf("empty flush wrote: head %d", h.Seq)
	}
}

// Flush writes what no append took, in order.
func TestDeferredFlush(t *testing.T) {
	f := newFixture(t)
	ctx, d := WithDeferred(context.Background())
	for _, a := range []string{"a", "b", "c"} {
		d.Add(Event{Actor: "x", Action: a})
	}
	if err := d.Flush(ctx, f.log); err != nil {
		t.Fatal(err)
	}
	var got string
	f.log.Each(ctx, 0, time.Time{}, func(en Entry) error { got += en.Action; return nil })
	if got != "abc" || d.Held() != 0 {
		t.Fatalf("%q, %d held", got, d.Held())
	}
}

// The held events and the append are one transaction: when the append's
// entry cannot be written, neither are they.
func TestDeferredIsAtomicWithTheAppend(t *testing.T) {
	f := newFixture(t)
	f.append(1)
	f.raw(`CREATE TRIGGER refuse_poison BEFORE INSERT ON audit_log WHEN instr(NEW.body, CAST('poison' AS BLOB)) > 0
		BEGIN SELECT RAISE(ABORT, 'refused'); END`)
	ctx, d := WithDeferred(context.Background())
	d.Add(Event{Actor: "token:agent", Action: "token.auth"})
	_, err := f.log.Append(ctx, Event{Actor: "token:agent", Action: "poison"})
	var ae *AppendError
	if !errors.As(err, &ae) {
		t.Fatalf("append of a refused entry: %v", err)
	}
	if h, _ := f.log.Head(ctx); h.Seq != 1 {
		t.Fatalf("the held entry was committed apart from the refused one: head %d", h.Seq)
	}
	if d.Held() != 0 {
		t.Fatal("a failed append left events held (they would be written after the refusal)")
	}
}
