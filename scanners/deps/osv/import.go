package osv

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Batch is a set of records read from one source. Records from an all.zip
// export replace everything known for their ecosystems; records from single
// JSON files are merged in by id.
type Batch struct {
	Source  string
	Records []*Record
	Replace bool
}

// ReadZip reads every .json member of an OSV zip export.
func ReadZip(ctx context.Context, source string, r io.ReaderAt, size int64) (*Batch, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &InvalidRecordError{Source: source, Reason: "not a zip archive: " + err.Error()}
	}
	b := &Batch{Source: source, Replace: true}
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if f.FileInfo().IsDir() || !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		if f.UncompressedSize64 > 64<<20 {
			return nil, &InvalidRecordError{Source: source + ":" + f.Name, Reason: "record larger than 64 MiB"}
		}
		rc, err := f.Open()
		if err != nil {
			return nil, &InvalidRecordError{Source: source + ":" + f.Name, Reason: err.Error()}
		}
		data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		rc.Close()
		if err != nil {
			return nil, &InvalidRecordError{Source: source + ":" + f.Name, Reason: err.Error()}
		}
		rec, err := ParseRecord(source+":"+f.Name, data)
		if err != nil {
			return nil, err
		}
		b.Records = append(b.Records, rec)
	}
	if len(b.Records) == 0 {
		return nil, &InvalidRecordError{Source: source, Reason: "the archive holds no OSV records (*.json)"}
	}
	return b, nil
}

// ReadPath reads a zip export, a single OSV JSON file, or a directory of
// them (searched recursively, e.g. an osv-scanner cache laid out as
// <root>/<Ecosystem>/all.zip).
func ReadPath(ctx context.Context, path string) ([]*Batch, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		b, err := readFile(ctx, path)
		if err != nil {
			return nil, err
		}
		return []*Batch{b}, nil
	}
	var out []*Batch
	var loose *Batch
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".zip") || strings.HasSuffix(p, ".json")) {
			return nil
		}
		b, err := readFile(ctx, p)
		if err != nil {
			return err
		}
		if b.Replace {
			out = append(out, b)
			return nil
		}
		if loose == nil {
			loose = &Batch{Source: path}
			out = append(out, loose)
		}
		loose.Records = append(loose.Records, b.Records...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, &InvalidRecordError{Source: path, Reason: "no *.zip or *.json files"}
	}
	return out, nil
}

func readFile(ctx context.Context, path string) (*Batch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".zip") {
		return ReadZip(ctx, path, f, fi.Size())
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	rec, err := ParseRecord(path, data)
	if err != nil {
		return nil, err
	}
	return &Batch{Source: path, Records: []*Record{rec}}, nil
}

// ecosystemsOf lists the base ecosystems a record names.
func ecosystemsOf(r *Record) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range r.Affected {
		e := BaseEcosystem(a.Package.Ecosystem)
		if e != "" && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// Import writes the batches into the database and returns the new state of
// each ecosystem it touched. Every ecosystem's index is replaced atomically;
// when one fails, the ecosystems written before it keep their new index
// and the others their previous one.
func (db *DB) Import(ctx context.Context, batches []*Batch, now time.Time) ([]Info, error) {
	replace := map[string]map[string]*Record{}
	merge := map[string]map[string]*Record{}
	sources := map[string][]string{}
	for _, b := range batches {
		target := merge
		if b.Replace {
			target = replace
		}
		for _, r := range b.Records {
			for _, e := range ecosystemsOf(r) {
				if target[e] == nil {
					target[e] = map[string]*Record{}
				}
				if old, ok := target[e][r.ID]; !ok || !old.Modified.After(r.Modified) {
					target[e][r.ID] = r
				}
				if n := len(sources[e]); n == 0 || sources[e][n-1] != b.Source {
					sources[e] = append(sources[e], b.Source)
				}
			}
		}
	}
	ecos := map[string]bool{}
	for e := range replace {
		ecos[e] = true
	}
	for e := range merge {
		ecos[e] = true
	}
	names := make([]string, 0, len(ecos))
	for e := range ecos {
		names = append(names, e)
	}
	sort.Strings(names)
	var out []Info
	for _, e := range names {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		set := replace[e]
		source := strings.Join(sources[e], ", ")
		if set == nil {
			set = map[string]*Record{}
			if ix, err := db.Open(e); err == nil {
				old, err := ix.All()
				prev := ix.Source
				ix.Close()
				if err != nil {
					return out, err
				}
				for _, r := range old {
					set[r.ID] = r
				}
				if prev != "" {
					source = prev + ", " + source
				}
			}
		}
		for id, r := range merge[e] {
			if old, ok := set[id]; !ok || !old.Modified.After(r.Modified) {
				set[id] = r
			}
		}
		recs := make([]*Record, 0, len(set))
		for _, r := range set {
			recs = append(recs, r)
		}
		sort.Slice(recs, func(i, j int) bool { return recs[i].ID < recs[j].ID })
		info, err := db.write(e, recs, source, now)
		if err != nil {
			return out, fmt.Errorf("write the %s database: %w", e, err)
		}
		out = append(out, info)
	}
	return out, nil
}
