package gitfixture

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// packLoose writes every loose object into a new pack, commits first and
// each commit after the first as a delta of the one before it, then
// deletes the loose objects.
func (b *builder) packLoose() error {
	type object struct {
		h    plumbing.Hash
		t    plumbing.ObjectType
		data []byte
	}
	los, ok := b.s.(storer.LooseObjectStorer)
	if !ok {
		return fmt.Errorf("the object store has no loose objects")
	}
	var loose []plumbing.Hash
	if err := los.ForEachObjectHash(func(h plumbing.Hash) error {
		loose = append(loose, h)
		return nil
	}); err != nil {
		return err
	}
	var objs []object
	for _, h := range loose {
		o, err := b.s.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return err
		}
		r, err := o.Reader()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return err
		}
		objs = append(objs, object{h, o.Type(), data})
	}
	// Commits first, as git writes them; the same order every time.
	sort.Slice(objs, func(i, j int) bool {
		ci, cj := objs[i].t == plumbing.CommitObject, objs[j].t == plumbing.CommitObject
		if ci != cj {
			return ci
		}
		return bytes.Compare(objs[i].h[:], objs[j].h[:]) < 0
	})

	var pack bytes.Buffer
	pack.WriteString("PACK")
	_ = binary.Write(&pack, binary.BigEndian, uint32(2))
	_ = binary.Write(&pack, binary.BigEndian, uint32(len(objs)))
	offsets := make([]uint64, len(objs))
	crcs := make([]uint32, len(objs))
	prev := -1 // the previous commit
	deltas := 0
	for i, o := range objs {
		offsets[i] = uint64(pack.Len())
		start := pack.Len()
		typ, data := byte(o.t), o.data
		var extra []byte
		if o.t == plumbing.CommitObject && prev >= 0 {
			data = delta(objs[prev].data, o.data)
			if deltas%2 == 0 {
				typ = 6 // by offset
				extra = ofsDelta(offsets[i] - offsets[prev])
			} else {
				typ = 7 // by name
				extra = objs[prev].h[:]
			}
			deltas++
		}
		if o.t == plumbing.CommitObject {
			prev = i
		}
		// Type and size, seven bits at a time after the first four.
		size := uint64(len(data))
		c := typ<<4 | byte(size&15)
		size >>= 4
		for size > 0 {
			pack.WriteByte(c | 0x80)
			c = byte(size & 0x7f)
			size >>= 7
		}
		pack.WriteByte(c)
		pack.Write(extra)
		zw := zlib.NewWriter(&pack)
		if _, err := zw.Write(data); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		crcs[i] = crc32.ChecksumIEEE(pack.Bytes()[start:])
	}
	sum := sha1.Sum(pack.Bytes())
	pack.Write(sum[:])

	// The index: names sorted, with the fan-out on their first byte.
	order := make([]int, len(objs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return bytes.Compare(objs[order[i]].h[:], objs[order[j]].h[:]) < 0 })
	var idx bytes.Buffer
	idx.Write([]byte{0xff, 't', 'O', 'c', 0, 0, 0, 2})
	var fanout [256]uint32
	for _, o := range objs {
		for b := int(o.h[0]); b < 256; b++ {
			fanout[b]++
		}
	}
	_ = binary.Write(&idx, binary.BigEndian, fanout)
	for _, i := range order {
		idx.Write(objs[i].h[:])
	}
	for _, i := range order {
		_ = binary.Write(&idx, binary.BigEndian, crcs[i])
	}
	// The last entry's offset goes to the large-offset table.
	var large []uint64
	for n, i := range order {
		if n == len(order)-1 {
			_ = binary.Write(&idx, binary.BigEndian, uint32(0x80000000|len(large)))
			large = append(large, offsets[i])
			continue
		}
		_ = binary.Write(&idx, binary.BigEndian, uint32(offsets[i]))
	}
	for _, off := range large {
		_ = binary.Write(&idx, binary.BigEndian, off)
	}
	idx.Write(sum[:])
	isum := sha1.Sum(idx.Bytes())
	idx.Write(isum[:])

	dir := filepath.Join(b.dir, ".git", "objects", "pack")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := filepath.Join(dir, "pack-"+hex.EncodeToString(sum[:]))
	if err := os.WriteFile(name+".pack", pack.Bytes(), 0o444); err != nil {
		return err
	}
	if err := os.WriteFile(name+".idx", idx.Bytes(), 0o444); err != nil {
		return err
	}
	for _, o := range objs {
		if err := los.DeleteLooseObject(o.h); err != nil {
			return err
		}
	}
	return nil
}

// ofsDelta encodes the distance back to an offset delta's base.
func ofsDelta(rel uint64) []byte {
	out := []byte{byte(rel & 0x7f)}
	for rel >>= 7; rel > 0; rel >>= 7 {
		rel--
		out = append([]byte{byte(0x80 | rel&0x7f)}, out...)
	}
	return out
}

// delta returns a git delta that makes target from base: a copy of their
// common prefix, then the rest inserted.
func delta(base, target []byte) []byte {
	varint := func(out []byte, v int) []byte {
		for v >= 0x80 {
			out = append(out, byte(v&0x7f|0x80))
			v >>= 7
		}
		return append(out, byte(v))
	}
	out := varint(varint(nil, len(base)), len(target))
	n := 0
	for n < len(base) && n < len(target) && n < 0xffff && base[n] == target[n] {
		n++
	}
	if n > 0 {
		// Copy from offset 0 (no offset bytes), size in two bytes.
		out = append(out, 0x80|0x10|0x20, byte(n), byte(n>>8))
	}
	for rest := target[n:]; len(rest) > 0; {
		k := min(len(rest), 127)
		out = append(out, byte(k))
		out = append(out, rest[:k]...)
		rest = rest[k:]
	}
	return out
}
