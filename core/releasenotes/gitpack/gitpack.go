// Package gitpack reads objects straight from the pack files of a git
// repository's object directory: pack index version 2, pack version 2 or
// 3, SHA-1 names. The files are memory-mapped, and an object costs one
// inflate (plus its delta bases'), with none of a general object store's
// copying and caching; Scan reads every object of one type, in pack order
// and in parallel. Anything else (another index version, a pack that does
// not match its index) is ErrUnsupported: the caller reads the repository
// some other way. Loose objects and alternates are not read here.
package gitpack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Type is an object type as a pack stores it.
type Type uint8

// Object types. Deltas are resolved by Read and never returned.
const (
	Commit Type = 1
	Tree   Type = 2
	Blob   Type = 3
	Tag    Type = 4

	ofsDelta Type = 6
	refDelta Type = 7
)

// ErrUnsupported is wrapped when the object directory holds something this
// package does not read.
var ErrUnsupported = errors.New("unsupported pack layout")

// Ref is an object in the store: its entry in its pack's index, numbered
// across the packs (0 to Len()-1).
type Ref int

// Store is the packs of one object directory.
type Store struct {
	packs []*pack
	n     int
}

type pack struct {
	name                string
	idx, data           []byte
	unmapIdx, unmapData func() error
	n, base             int // objects, and the Ref of the first
	fanout              []byte
	names, offs, large  []byte
}

// maxDepth bounds a delta chain (git's default pack.depth is 50).
const maxDepth = 10000

// Open maps every pack of objectsDir (a repository's objects directory).
// A directory without packs gives an empty store.
func Open(objectsDir string) (*Store, error) {
	dir := filepath.Join(objectsDir, "pack")
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &Store{}, nil
		}
		return nil, err
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	s := &Store{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".pack")
		if !ok || !strings.HasPrefix(name, "pack-") {
			continue
		}
		if !have[name+".idx"] {
			s.Close()
			return nil, fmt.Errorf("%s.pack has no index: %w", name, ErrUnsupported)
		}
		p, err := openPack(filepath.Join(dir, name))
		if err != nil {
			s.Close()
			return nil, err
		}
		p.base = s.n
		s.n += p.n
		s.packs = append(s.packs, p)
	}
	return s, nil
}

func mapPath(path string) ([]byte, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.Size() == 0 || int64(int(fi.Size())) != fi.Size() {
		return nil, nil, fmt.Errorf("%s: size %d: %w", path, fi.Size(), ErrUnsupported)
	}
	return mapFile(f, int(fi.Size()))
}

func openPack(base string) (_ *pack, err error) {
	p := &pack{name: filepath.Base(base)}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	if p.idx, p.unmapIdx, err = mapPath(base + ".idx"); err != nil {
		return nil, err
	}
	if p.data, p.unmapData, err = mapPath(base + ".pack"); err != nil {
		return nil, err
	}
	bad := func(why string) error { return fmt.Errorf("%s: %s: %w", p.name, why, ErrUnsupported) }
	idx := p.idx
	if len(idx) < 8+1024+40 || !bytes.Equal(idx[:4], []byte{0xff, 't', 'O', 'c'}) || binary.BigEndian.Uint32(idx[4:]) != 2 {
		return nil, bad("not a version 2 index")
	}
	p.fanout = idx[8 : 8+1024]
	prev := uint32(0)
	for i := 0; i < 256; i++ {
		v := binary.BigEndian.Uint32(p.fanout[4*i:])
		if v < prev {
			return nil, bad("index fan-out not sorted")
		}
		prev = v
	}
	n := int(prev)
	rest := len(idx) - 1032 - 40 - 28*n
	if n < 0 || rest < 0 || rest%8 != 0 {
		return nil, bad("index size does not match its object count")
	}
	p.n = n
	p.names = idx[1032 : 1032+20*n]
	p.offs = idx[1032+24*n : 1032+28*n]
	p.large = idx[1032+28*n : 1032+28*n+rest]
	data := p.data
	if len(data) < 32 || string(data[:4]) != "PACK" {
		return nil, bad("not a pack")
	}
	if v := binary.BigEndian.Uint32(data[4:]); v != 2 && v != 3 {
		return nil, bad("pack version")
	}
	if int(binary.BigEndian.Uint32(data[8:])) != n {
		return nil, bad("pack and index disagree on the object count")
	}
	if !bytes.Equal(data[len(data)-20:], idx[len(idx)-40:len(idx)-20]) {
		return nil, bad("pack checksum does not match its index")
	}
	return p, nil
}

func (p *pack) close() error {
	var err error
	if p.unmapIdx != nil {
		err = p.unmapIdx()
	}
	if p.unmapData != nil {
		if e := p.unmapData(); err == nil {
			err = e
		}
	}
	p.unmapIdx, p.unmapData = nil, nil
	return err
}

// Close unmaps the packs.
func (s *Store) Close() error {
	var err error
	for _, p := range s.packs {
		if e := p.close(); err == nil {
			err = e
		}
	}
	s.packs = nil
	return err
}

// Packs is the number of packs.
func (s *Store) Packs() int { return len(s.packs) }

// Len is the number of objects in the packs (an object stored in two
// packs counts twice).
func (s *Store) Len() int { return s.n }

func (s *Store) locate(r Ref) (*pack, int) {
	i := sort.Search(len(s.packs), func(i int) bool { return s.packs[i].base+s.packs[i].n > int(r) })
	p := s.packs[i]
	return p, int(r) - p.base
}

// Name returns the object name (hash) of r.
func (s *Store) Name(r Ref) (name [20]byte) {
	p, i := s.locate(r)
	copy(name[:], p.names[20*i:])
	return name
}

// Find returns the object named name.
func (s *Store) Find(name []byte) (Ref, bool) {
	for _, p := range s.packs {
		if i, ok := p.find(name); ok {
			return Ref(p.base + i), true
		}
	}
	return -1, false
}

func (p *pack) find(name []byte) (int, bool) {
	lo := 0
	if name[0] > 0 {
		lo = int(binary.BigEndian.Uint32(p.fanout[4*(int(name[0])-1):]))
	}
	hi := int(binary.BigEndian.Uint32(p.fanout[4*int(name[0]):]))
	// Names are compared by their first eight bytes, then the rest.
	key := binary.BigEndian.Uint64(name)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		k := binary.BigEndian.Uint64(p.names[20*m:])
		less := k < key
		if k == key {
			c := bytes.Compare(p.names[20*m+8:20*m+20], name[8:20])
			if c == 0 {
				return m, true
			}
			less = c < 0
		}
		if less {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return 0, false
}

func (p *pack) offset(i int) (uint64, error) {
	o := binary.BigEndian.Uint32(p.offs[4*i:])
	off := uint64(o)
	if o&0x80000000 != 0 {
		j := int(o & 0x7fffffff)
		if 8*j+8 > len(p.large) {
			return 0, fmt.Errorf("%s: large offset %d out of range: %w", p.name, j, ErrUnsupported)
		}
		off = binary.BigEndian.Uint64(p.large[8*j:])
	}
	if off < 12 || off >= uint64(len(p.data)-20) {
		return 0, fmt.Errorf("%s: offset %d out of range: %w", p.name, off, ErrUnsupported)
	}
	return off, nil
}

// entry is an object's header in the pack.
type entry struct {
	typ  Type
	size uint64
	at   uint64 // start of the compressed data
	base uint64 // an offset delta's base
	ref  []byte // a reference delta's base name
}

func (p *pack) header(off uint64) (e entry, err error) {
	d := p.data[:len(p.data)-20]
	i := off
	next := func() (byte, bool) {
		if i >= uint64(len(d)) {
			return 0, false
		}
		c := d[i]
		i++
		return c, true
	}
	c, ok := next()
	e.typ = Type(c>>4) & 7
	e.size = uint64(c & 15)
	for shift := 4; ok && c&0x80 != 0; shift += 7 {
		if shift > 57 {
			ok = false
			break
		}
		c, ok = next()
		e.size |= uint64(c&0x7f) << shift
	}
	switch e.typ {
	case ofsDelta:
		c, ok = next()
		rel := uint64(c & 0x7f)
		for ok && c&0x80 != 0 {
			c, ok = next()
			rel = (rel+1)<<7 | uint64(c&0x7f)
		}
		if rel == 0 || rel > off {
			ok = false
		}
		e.base = off - rel
	case refDelta:
		if i+20 > uint64(len(d)) {
			ok = false
		} else {
			e.ref = d[i : i+20]
			i += 20
		}
	case Commit, Tree, Blob, Tag:
	default:
		ok = false
	}
	if !ok {
		return e, fmt.Errorf("%s: bad object header at %d: %w", p.name, off, ErrUnsupported)
	}
	e.at = i
	return e, nil
}

// Inflater holds what one goroutine reuses from one object to the next:
// the decoder's tables, and the last delta bases it rebuilt (git stores
// an object and its deltas near each other, and reads tend to follow).
type Inflater struct {
	d     decoder
	buf   []byte
	bases map[baseKey]base
	size  int // bytes in bases
}

type baseKey struct {
	p   *pack
	off uint64
}

type base struct {
	t    Type
	data []byte
}

// The delta bases an Inflater keeps, at most.
const (
	maxBases     = 256
	maxBaseBytes = 16 << 20
)

func (z *Inflater) keep(k baseKey, t Type, data []byte) {
	if len(data) > maxBaseBytes/4 {
		return
	}
	if z.bases == nil || len(z.bases) >= maxBases || z.size+len(data) > maxBaseBytes {
		z.bases, z.size = map[baseKey]base{}, 0
	}
	z.bases[k] = base{t, data}
	z.size += len(data)
}

// inflate decompresses the zlib stream at the start of src into dst,
// which has the object's exact size.
func (z *Inflater) inflate(src, dst []byte) error {
	// The zlib header: deflate, no preset dictionary. The checksum at the
	// end is not read: the object's size is known, and a pack's integrity
	// is git's business.
	if len(src) < 2 || src[0]&0x0f != 8 || src[1]&0x20 != 0 || (uint(src[0])<<8|uint(src[1]))%31 != 0 {
		return fmt.Errorf("bad zlib header: %w", ErrUnsupported)
	}
	if err := z.d.inflateRaw(src[2:], dst); err != nil {
		return fmt.Errorf("inflate: %w", err)
	}
	return nil
}

// Read returns the type and content of r, resolving deltas. The content
// must not be modified.
func (s *Store) Read(r Ref, z *Inflater) (Type, []byte, error) {
	p, i := s.locate(r)
	off, err := p.offset(i)
	if err != nil {
		return 0, nil, err
	}
	return p.read(off, z, 0)
}

func (p *pack) read(off uint64, z *Inflater, depth int) (Type, []byte, error) {
	if b, ok := z.bases[baseKey{p, off}]; ok {
		return b.t, b.data, nil
	}
	if depth > maxDepth {
		return 0, nil, fmt.Errorf("%s: delta chain too long at %d: %w", p.name, off, ErrUnsupported)
	}
	e, err := p.header(off)
	if err != nil {
		return 0, nil, err
	}
	if e.size > uint64(len(p.data))*1032 { // deflate expands at most 1032:1
		return 0, nil, fmt.Errorf("%s: object size %d at %d: %w", p.name, e.size, off, ErrUnsupported)
	}
	out := make([]byte, e.size)
	if err := z.inflate(p.data[e.at:len(p.data)-20], out); err != nil {
		return 0, nil, fmt.Errorf("%s: object at %d: %w", p.name, off, err)
	}
	t := e.typ
	if t == ofsDelta || t == refDelta {
		at := e.base
		if t == refDelta {
			j, ok := p.find(e.ref)
			if !ok {
				return 0, nil, fmt.Errorf("%s: delta base %x not in the pack: %w", p.name, e.ref, ErrUnsupported)
			}
			if at, err = p.offset(j); err != nil {
				return 0, nil, err
			}
		}
		bt, b, err := p.read(at, z, depth+1)
		if err != nil {
			return 0, nil, err
		}
		if out, err = applyDelta(b, out); err != nil {
			return 0, nil, fmt.Errorf("%s: object at %d: %w", p.name, off, err)
		}
		t = bt
	}
	if depth > 0 {
		z.keep(baseKey{p, off}, t, out)
	}
	return t, out, nil
}
