package osv

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/atomicfile"
)

// ErrNoDatabase is returned when no records were imported for an ecosystem.
var ErrNoDatabase = errors.New("no vulnerability database")

// ErrCorrupt is returned for an index file that cannot be read back.
var ErrCorrupt = errors.New("vulnerability database is damaged")

const (
	indexSuffix = ".osvidx"
	formatMagic = "warden-osv-index"
	formatVer   = 1
)

// Info describes one ecosystem's database.
type Info struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Ecosystem  string    `json:"ecosystem"`
	Records    int       `json:"records"`
	Packages   int       `json:"packages"`
	Withdrawn  int       `json:"withdrawn"`
	ImportedAt time.Time `json:"importedAt"`
	Newest     time.Time `json:"newestModified"`
	Source     string    `json:"source"`
	IndexBytes int64     `json:"indexBytes"`
	Path       string    `json:"-"`
}

// DB is the offline database: one index file per ecosystem in a directory.
// Each file is a JSON header line, a table of package names sorted with
// the offset of their records, and the records as JSON, so a scan reads
// only the records of the packages it looks up.
type DB struct {
	Dir string
}

// fileName maps an ecosystem to a file name ("crates.io" stays, "Red Hat"
// becomes "Red_Hat").
func fileName(ecosystem string) string {
	var b strings.Builder
	for _, r := range ecosystem {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String() + indexSuffix
}

// Status lists the ecosystems with a database, by name.
func (db *DB) Status() ([]Info, error) {
	entries, err := os.ReadDir(db.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), indexSuffix) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		ix, err := openIndex(filepath.Join(db.Dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, ix.Info)
		ix.Close()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ecosystem < out[j].Ecosystem })
	return out, nil
}

// Index is one ecosystem's open index.
type Index struct {
	Info
	f     *os.File
	names []string
	offs  []uint64
	lens  []uint32
	data  int64 // where the records start
}

// Open opens an ecosystem's index; ErrNoDatabase when there is none.
func (db *DB) Open(ecosystem string) (*Index, error) {
	p := filepath.Join(db.Dir, fileName(BaseEcosystem(ecosystem)))
	ix, err := openIndex(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w for %s", ErrNoDatabase, ecosystem)
	}
	return ix, err
}

func openIndex(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	ix := &Index{f: f}
	if err := ix.readHeader(path); err != nil {
		f.Close()
		return nil, err
	}
	return ix, nil
}

func (ix *Index) readHeader(path string) error {
	corrupt := func(what string) error { return fmt.Errorf("%s: %w (%s); import it again", path, ErrCorrupt, what) }
	br := bufio.NewReaderSize(ix.f, 64<<10)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return corrupt("no header")
	}
	if err := json.Unmarshal(line, &ix.Info); err != nil || ix.Format != formatMagic {
		return corrupt("bad header")
	}
	if ix.Version != formatVer {
		return fmt.Errorf("%s: index format %d, this warden reads %d; import the database again", path, ix.Version, formatVer)
	}
	ix.Path = path
	table := make([]byte, ix.IndexBytes)
	if _, err := io.ReadFull(br, table); err != nil {
		return corrupt("short table")
	}
	ix.data = int64(len(line)) + ix.IndexBytes
	ix.names = make([]string, 0, ix.Packages)
	for p := 0; p < len(table); {
		if p+2 > len(table) {
			return corrupt("table")
		}
		n := int(binary.LittleEndian.Uint16(table[p:]))
		p += 2
		if p+n+12 > len(table) {
			return corrupt("table")
		}
		ix.names = append(ix.names, string(table[p:p+n]))
		p += n
		ix.offs = append(ix.offs, binary.LittleEndian.Uint64(table[p:]))
		ix.lens = append(ix.lens, binary.LittleEndian.Uint32(table[p+8:]))
		p += 12
	}
	if len(ix.names) != ix.Packages {
		return corrupt("package count")
	}
	return nil
}

// Close releases the file.
func (ix *Index) Close() error { return ix.f.Close() }

// Lookup returns the records naming the package (withdrawn ones included;
// Affects skips them).
func (ix *Index) Lookup(name string) ([]*Record, error) {
	key := NormalizeName(ix.Ecosystem, name)
	i := sort.SearchStrings(ix.names, key)
	if i == len(ix.names) || ix.names[i] != key {
		return nil, nil
	}
	buf := make([]byte, ix.lens[i])
	if _, err := ix.f.ReadAt(buf, ix.data+int64(ix.offs[i])); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", ix.Path, ErrCorrupt, err)
	}
	var recs []*Record
	if err := json.Unmarshal(buf, &recs); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", ix.Path, ErrCorrupt, err)
	}
	return recs, nil
}

// All returns every record once.
func (ix *Index) All() ([]*Record, error) {
	seen := map[string]bool{}
	var out []*Record
	for _, n := range ix.names {
		recs, err := ix.Lookup(n)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// write replaces an ecosystem's index atomically: a temporary file in the
// same directory, synced, renamed over the old one. On any error the old
// index stays.
func (db *DB) write(ecosystem string, recs []*Record, source string, now time.Time) (Info, error) {
	if err := os.MkdirAll(db.Dir, 0o700); err != nil {
		return Info{}, err
	}
	byName := map[string][]*Record{}
	info := Info{Format: formatMagic, Version: formatVer, Ecosystem: ecosystem, Records: len(recs), ImportedAt: now.UTC(), Source: source}
	for _, r := range recs {
		if r.Withdrawn != nil {
			info.Withdrawn++
		}
		if r.Modified.After(info.Newest) {
			info.Newest = r.Modified.UTC()
		}
		seen := map[string]bool{}
		for _, a := range r.Affected {
			if BaseEcosystem(a.Package.Ecosystem) != ecosystem || a.Package.Name == "" {
				continue
			}
			key := NormalizeName(ecosystem, a.Package.Name)
			if !seen[key] {
				seen[key] = true
				byName[key] = append(byName[key], r)
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		if len(n) > 0xffff {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var data bytes.Buffer
	var table bytes.Buffer
	var scratch [12]byte
	for _, n := range names {
		off := data.Len()
		b, err := json.Marshal(byName[n])
		if err != nil {
			return Info{}, err
		}
		data.Write(b)
		binary.LittleEndian.PutUint16(scratch[:2], uint16(len(n)))
		table.Write(scratch[:2])
		table.WriteString(n)
		binary.LittleEndian.PutUint64(scratch[:8], uint64(off))
		binary.LittleEndian.PutUint32(scratch[8:], uint32(len(b)))
		table.Write(scratch[:12])
	}
	info.Packages = len(names)
	info.IndexBytes = int64(table.Len())
	header, err := json.Marshal(info)
	if err != nil {
		return Info{}, err
	}
	path := filepath.Join(db.Dir, fileName(ecosystem))
	err = atomicfile.WriteFrom(path, func(w io.Writer) error {
		for _, part := range [][]byte{header, {'\n'}, table.Bytes(), data.Bytes()} {
			if _, err := w.Write(part); err != nil {
				return err
			}
		}
		return nil
	}, atomicfile.Options{Mode: 0o600})
	info.Path = path
	return info, err
}
