package gitpack

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/warden-sec/warden/core/releasenotes/gitfixture"
)

const script = `
author Ann Author <ann@example.com>
commit -f src/a.go feat: a
commit -f src/b.go fix: b\n\nCo-authored-by: Pat Pair <pat@example.com>
branch topic
commit -f docs/x.md docs: x
switch main
commit -f src/a.go feat: a again, with a longer subject than the others
merge topic Merge topic
atag v1.0.0
commit -f src/c.go feat: c
`

// The ways a repository's objects end up in packs.
var packModes = []string{"repack", "repack ref-deltas", "repack commit-deltas"}

func fixture(t *testing.T, script string) (string, *git.Repository) {
	t.Helper()
	dir := t.TempDir()
	if _, err := gitfixture.Build(dir, script); err != nil {
		t.Fatal(err)
	}
	r, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, r
}

func content(t *testing.T, o plumbing.EncodedObject) []byte {
	t.Helper()
	rd, err := o.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every object in the packs reads as go-git reads it, deltas resolved;
// a scan gives exactly the commits stored whole.
func TestReadAndScan(t *testing.T) {
	for _, mode := range packModes {
		t.Run(mode, func(t *testing.T) {
			// A commit after the repack stays loose.
			dir, repo := fixture(t, script+mode+"\ncommit -f src/d.go feat: loose\n")
			st, err := Open(filepath.Join(dir, ".git", "objects"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			iter, err := repo.Storer.IterEncodedObjects(plumbing.AnyObject)
			if err != nil {
				t.Fatal(err)
			}
			z := &Inflater{}
			whole := map[plumbing.Hash][]byte{} // commits stored whole
			packed, loose := 0, 0
			err = iter.ForEach(func(o plumbing.EncodedObject) error {
				h := o.Hash()
				ref, ok := st.Find(h[:])
				if !ok {
					loose++
					return nil
				}
				packed++
				if st.Name(ref) != h {
					t.Errorf("%s: named %x", h, st.Name(ref))
				}
				typ, data, err := st.Read(ref, z)
				if err != nil {
					t.Fatalf("%s: %v", h, err)
				}
				if plumbing.ObjectType(typ) != o.Type() || !bytes.Equal(data, content(t, o)) {
					t.Errorf("%s: read a %d of %d bytes, go-git a %s of %d", h, typ, len(data), o.Type(), o.Size())
				}
				p, i := st.locate(ref)
				off, _ := p.offset(i)
				if typ == Commit && Type(p.data[off]>>4)&7 == Commit {
					whole[h] = data
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if packed == 0 || loose == 0 {
				t.Fatalf("%d packed and %d loose objects", packed, loose)
			}
			if mode == "repack commit-deltas" && len(whole) != 1 {
				t.Fatalf("%d commits stored whole, want 1 (the others as deltas)", len(whole))
			}
			for _, workers := range []int{1, 3} {
				var mu sync.Mutex
				seen := map[plumbing.Hash]bool{}
				err := st.Scan(context.Background(), Commit, workers, func(w int, r Ref, data []byte) error {
					mu.Lock()
					defer mu.Unlock()
					h := plumbing.Hash(st.Name(r))
					if w < 0 || w >= workers || seen[h] || !bytes.Equal(data, whole[h]) {
						t.Errorf("worker %d: %s scanned wrong (twice %v)", w, h, seen[h])
					}
					seen[h] = true
					return nil
				})
				if err != nil || len(seen) != len(whole) {
					t.Fatalf("%d workers: scanned %d commits, want %d: %v", workers, len(seen), len(whole), err)
				}
			}
		})
	}
}

// object is an object to put in a test pack: whole, or a delta of the
// object at index base (by offset) or of the object named ref.
type object struct {
	name [20]byte
	typ  Type
	data []byte
	base int
	ref  []byte
}

func blob(s string) object {
	data := []byte(s)
	h := sha1.Sum(append([]byte(fmt.Sprintf("blob %d\x00", len(data))), data...))
	return object{name: h, typ: Blob, data: data, base: -1}
}

// writePack writes a pack and its index into dir/pack, as git lays them
// out, and returns their paths.
func writePack(t *testing.T, dir string, es []object) (string, string) {
	t.Helper()
	var pack bytes.Buffer
	pack.WriteString("PACK\x00\x00\x00\x02")
	binary.Write(&pack, binary.BigEndian, uint32(len(es)))
	offs := make([]uint64, len(es))
	w := zlib.NewWriter(&pack)
	for i, e := range es {
		offs[i] = uint64(pack.Len())
		size := uint64(len(e.data))
		c := byte(e.typ)<<4 | byte(size&15)
		for size >>= 4; size > 0; size >>= 7 {
			pack.WriteByte(c | 0x80)
			c = byte(size & 0x7f)
		}
		pack.WriteByte(c)
		switch e.typ {
		case ofsDelta:
			rel := offs[i] - offs[e.base]
			enc := []byte{byte(rel & 0x7f)}
			for rel >>= 7; rel > 0; rel >>= 7 {
				rel--
				enc = append([]byte{byte(0x80 | rel&0x7f)}, enc...)
			}
			pack.Write(enc)
		case refDelta:
			pack.Write(e.ref)
		}
		w.Reset(&pack)
		w.Write(e.data)
		w.Close()
	}
	sum := sha1.Sum(pack.Bytes())
	pack.Write(sum[:])
	order := make([]int, len(es))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return bytes.Compare(es[order[a]].name[:], es[order[b]].name[:]) < 0 })
	var idx bytes.Buffer
	idx.Write([]byte{0xff, 't', 'O', 'c', 0, 0, 0, 2})
	var fanout [256]uint32
	for _, e := range es {
		for b := int(e.name[0]); b < 256; b++ {
			fanout[b]++
		}
	}
	binary.Write(&idx, binary.BigEndian, fanout)
	for _, i := range order {
		idx.Write(es[i].name[:])
	}
	idx.Write(make([]byte, 4*len(es))) // CRCs, not read
	for _, i := range order {
		binary.Write(&idx, binary.BigEndian, uint32(offs[i]))
	}
	idx.Write(sum[:])
	isum := sha1.Sum(idx.Bytes())
	idx.Write(isum[:])
	if err := os.MkdirAll(filepath.Join(dir, "pack"), 0o755); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "pack", fmt.Sprintf("pack-%x", sum))
	if err := os.WriteFile(base+".pack", pack.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".idx", idx.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return base + ".pack", base + ".idx"
}

// The entries of a pack large enough to be sorted by several workers come
// out in offset order, each once.
func TestOrder(t *testing.T) {
	dir := t.TempDir()
	var es []object
	for i := range 20000 {
		es = append(es, blob(fmt.Sprint("blob ", i)))
	}
	writePack(t, dir, es)
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := st.packs[0]
	for _, workers := range []int{1, 2, 3, 8} {
		e, err := p.order(workers)
		if err != nil {
			t.Fatal(err)
		}
		seen := make([]bool, p.n)
		last := uint64(0)
		for n := range e.len() {
			off, i := e.at(n)
			want, _ := p.offset(i)
			if off != want || off <= last || seen[i] {
				t.Fatalf("%d workers: entry %d at %d: offset %d (want %d), after %d, twice %v", workers, n, i, off, want, last, seen[i])
			}
			seen[i], last = true, off
		}
		if e.len() != p.n {
			t.Fatalf("%d workers: %d of %d entries", workers, e.len(), p.n)
		}
	}
	var n atomic.Int64
	if err := st.Scan(context.Background(), Blob, 2, func(int, Ref, []byte) error { n.Add(1); return nil }); err != nil || n.Load() != int64(len(es)) {
		t.Fatalf("scanned %d blobs of %d: %v", n.Load(), len(es), err)
	}
}

// A pack this package does not read is ErrUnsupported, and a store
// without packs is empty.
func TestOpenUnsupported(t *testing.T) {
	es := []object{blob("one"), blob("two")}
	for name, spoil := range map[string]func(pack, idx []byte) ([]byte, []byte){
		"index version 1": func(pack, idx []byte) ([]byte, []byte) { return pack, idx[8:] },
		"index version 3": func(pack, idx []byte) ([]byte, []byte) { idx[7] = 3; return pack, idx },
		"object count": func(pack, idx []byte) ([]byte, []byte) {
			pack[11]++
			return pack, idx
		},
		"checksum":    func(pack, idx []byte) ([]byte, []byte) { pack[len(pack)-1]++; return pack, idx },
		"not a pack":  func(pack, idx []byte) ([]byte, []byte) { pack[0] = 'J'; return pack, idx },
		"empty pack":  func(pack, idx []byte) ([]byte, []byte) { return nil, idx },
		"short index": func(pack, idx []byte) ([]byte, []byte) { return pack, idx[:len(idx)-3] },
	} {
		dir := t.TempDir()
		packPath, idxPath := writePack(t, dir, es)
		pack, _ := os.ReadFile(packPath)
		idx, _ := os.ReadFile(idxPath)
		pack, idx = spoil(pack, idx)
		os.WriteFile(packPath, pack, 0o644)
		os.WriteFile(idxPath, idx, 0o644)
		if _, err := Open(dir); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v", name, err)
		}
	}
	dir := t.TempDir()
	packPath, idxPath := writePack(t, dir, es)
	os.Remove(idxPath)
	if _, err := Open(dir); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a pack without its index: %v", err)
	}
	os.Remove(packPath)
	if st, err := Open(dir); err != nil || st.Len() != 0 {
		t.Errorf("no packs: %v", err)
	}
	if st, err := Open(filepath.Join(dir, "nothing")); err != nil || st.Len() != 0 {
		t.Errorf("no pack directory: %v", err)
	}
}

// Broken deltas are errors, not panics or endless loops.
func TestReadBadDeltas(t *testing.T) {
	a, b := blob("a"), blob("b")
	// Two deltas of each other.
	cycleA := object{name: [20]byte{1}, typ: refDelta, data: []byte{1, 1, 1, 'x'}}
	cycleB := object{name: [20]byte{2}, typ: refDelta, data: []byte{1, 1, 1, 'y'}, ref: cycleA.name[:]}
	cycleA.ref = cycleB.name[:]
	// A base of 9 bytes, where "a" has 1.
	wrongSize := object{name: [20]byte{3}, typ: ofsDelta, base: 0, data: []byte{9, 1, 1, 'x'}}
	// A copy of 4 bytes from a base of 1.
	badCopy := object{name: [20]byte{4}, typ: ofsDelta, base: 0, data: []byte{1, 4, 0x91, 0, 4}}
	missing := object{name: [20]byte{5}, typ: refDelta, data: []byte{1, 1, 1, 'x'}, ref: bytes.Repeat([]byte{9}, 20)}
	// "b", then "cd" inserted.
	good := object{name: [20]byte{6}, typ: ofsDelta, base: 1, data: []byte{1, 3, 0x90, 1, 2, 'c', 'd'}}
	dir := t.TempDir()
	writePack(t, dir, []object{a, b, cycleA, cycleB, wrongSize, badCopy, missing, good})
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	z := &Inflater{}
	for _, e := range []object{cycleA, wrongSize, badCopy, missing} {
		ref, ok := st.Find(e.name[:])
		if !ok {
			t.Fatalf("%x not found", e.name)
		}
		if _, _, err := st.Read(ref, z); err == nil {
			t.Errorf("%x: read", e.name)
		}
	}
	ref, _ := st.Find(good.name[:])
	if typ, data, err := st.Read(ref, z); err != nil || typ != Blob || string(data) != "bcd" {
		t.Errorf("good delta: %d %q %v", typ, data, err)
	}
}
