package history

import (
	"errors"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// The storer under go-git answers as go-git's own: a packed object of the
// asked type (or any), not found for another type, and what the packs do
// not hold (here a loose commit) from go-git's storage.
func TestPackStorer(t *testing.T) {
	r, marks := openScript(t, authorsScript, "repack")
	st := r.r.Storer
	packed, loose := plumbing.NewHash(marks["a"]), plumbing.NewHash(marks["e"])
	for _, typ := range []plumbing.ObjectType{plumbing.CommitObject, plumbing.AnyObject} {
		o, err := st.EncodedObject(typ, packed)
		if _, raw := o.(*rawObject); err != nil || !raw || o.Type() != plumbing.CommitObject || o.Hash() != packed {
			t.Errorf("%s: %T %v", typ, o, err)
		}
	}
	if _, err := st.EncodedObject(plumbing.TreeObject, packed); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Errorf("a commit as a tree: %v", err)
	}
	if o, err := st.EncodedObject(plumbing.CommitObject, loose); err != nil || o.Hash() != loose {
		t.Errorf("loose: %v", err)
	}
	if err := st.HasEncodedObject(packed); err != nil {
		t.Errorf("has packed: %v", err)
	}
	missing := plumbing.NewHash("0123456789012345678901234567890123456789")
	if _, err := st.EncodedObject(plumbing.AnyObject, missing); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Errorf("missing: %v", err)
	}
	if err := st.HasEncodedObject(missing); err == nil {
		t.Error("has missing")
	}
}
