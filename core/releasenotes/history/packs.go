package history

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/warden-sec/warden/core/releasenotes/gitpack"
)

// packStorer is go-git's storage with the objects of the pack files read
// through gitpack: go-git loads a pack's whole index into maps before its
// first object (a fifth of a second for half a million objects) and
// copies every object through several buffers. Objects that gitpack does
// not find or cannot read (loose objects, alternates, an unusual pack) are
// left to go-git's storage, so what go-git sees is the same.
type packStorer struct {
	*filesystem.Storage
	packs     *gitpack.Store
	inflaters sync.Pool
}

// openPacks maps the packs of the repository whose .git directory is
// root, or returns nil (go-git then reads everything itself).
func openPacks(root string) *gitpack.Store {
	if root == "" {
		return nil
	}
	// A linked worktree keeps its objects in the common directory.
	dir := root
	if b, err := os.ReadFile(filepath.Join(root, "commondir")); err == nil {
		dir = strings.TrimSpace(string(b))
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(root, dir)
		}
	}
	objects := filepath.Join(dir, "objects")
	if fi, err := os.Stat(objects); err != nil || !fi.IsDir() {
		return nil
	}
	st, err := gitpack.Open(objects)
	if err != nil || st.Len() == 0 {
		if st != nil {
			st.Close()
		}
		return nil
	}
	return st
}

func (s *packStorer) inflater() *gitpack.Inflater {
	if z, ok := s.inflaters.Get().(*gitpack.Inflater); ok {
		return z
	}
	return &gitpack.Inflater{}
}

// read returns the object h from the packs, or nil.
func (s *packStorer) read(h plumbing.Hash) *rawObject {
	ref, ok := s.packs.Find(h[:])
	if !ok {
		return nil
	}
	z := s.inflater()
	t, data, err := s.packs.Read(ref, z)
	s.inflaters.Put(z)
	if err != nil {
		return nil
	}
	return &rawObject{h: h, t: plumbing.ObjectType(t), data: data}
}

// EncodedObject returns the object h of type t (any type for
// plumbing.AnyObject), as go-git's storage does.
func (s *packStorer) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if o := s.read(h); o != nil {
		if t != plumbing.AnyObject && o.t != t {
			return nil, plumbing.ErrObjectNotFound
		}
		return o, nil
	}
	return s.Storage.EncodedObject(t, h)
}

// HasEncodedObject reports whether h is stored.
func (s *packStorer) HasEncodedObject(h plumbing.Hash) error {
	if _, ok := s.packs.Find(h[:]); ok {
		return nil
	}
	return s.Storage.HasEncodedObject(h)
}

// Close unmaps the packs and closes go-git's storage.
func (s *packStorer) Close() error {
	err := s.Storage.Close()
	if e := s.packs.Close(); err == nil {
		err = e
	}
	return err
}

// rawObject is an object read from a pack; go-git decodes it.
type rawObject struct {
	h    plumbing.Hash
	t    plumbing.ObjectType
	data []byte
}

var errReadOnly = errors.New("object read from a pack is read-only")

func (o *rawObject) Hash() plumbing.Hash           { return o.h }
func (o *rawObject) Type() plumbing.ObjectType     { return o.t }
func (o *rawObject) SetType(t plumbing.ObjectType) { o.t = t }
func (o *rawObject) Size() int64                   { return int64(len(o.data)) }
func (o *rawObject) SetSize(int64)                 {}
func (o *rawObject) Reader() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(o.data)), nil
}
func (o *rawObject) Writer() (io.WriteCloser, error) { return nil, errReadOnly }
