package osv

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func record(id, eco, name, intro, fixed string) string {
	return fmt.Sprintf(`{"id":%q,"modified":"2024-01-01T00:00:00Z","summary":"s %s","affected":[{"package":{"ecosystem":%q,"name":%q},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":%q},{"fixed":%q}]}]}]}`,
		id, id, eco, name, intro, fixed)
}

func zipOf(t *testing.T, records ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, r := range records {
		w, err := zw.Create(fmt.Sprintf("REC-%d.json", i))
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(r))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func importZip(t *testing.T, db *DB, data []byte) []Info {
	t.Helper()
	b, err := ReadZip(context.Background(), "all.zip", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	infos, err := db.Import(context.Background(), []*Batch{b}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return infos
}

func ids(t *testing.T, db *DB, eco, name string) string {
	t.Helper()
	ix, err := db.Open(eco)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	recs, err := ix.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return strings.Join(out, ",")
}

func TestImportLookup(t *testing.T) {
	db := &DB{Dir: filepath.Join(t.TempDir(), "osv")}
	if _, err := db.Open("npm"); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("empty db: %v", err)
	}
	infos := importZip(t, db, zipOf(t,
		record("A-1", "npm", "lodash", "0", "4.17.21"),
		record("A-2", "npm", "lodash", "5.0.0", "5.0.1"),
		record("A-3", "npm", "express", "0", "4.0.0"),
		record("P-1", "PyPI", "Django", "0", "4.2.1"),
	))
	if len(infos) != 2 || infos[0].Ecosystem != "PyPI" || infos[1].Ecosystem != "npm" || infos[1].Records != 3 || infos[1].Packages != 2 {
		t.Fatalf("infos: %+v", infos)
	}
	if got := ids(t, db, "npm", "lodash"); got != "A-1,A-2" {
		t.Errorf("lodash: %s", got)
	}
	if got := ids(t, db, "PyPI", "django"); got != "P-1" {
		t.Errorf("django (normalised): %s", got)
	}
	if got := ids(t, db, "npm", "nothere"); got != "" {
		t.Errorf("unknown package: %s", got)
	}
	fi, err := os.Stat(filepath.Join(db.Dir, "npm"+indexSuffix))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("index file mode: %v %v", fi, err)
	}

	// A single record merges into the ecosystem; same id replaces.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "A-9.json"), []byte(record("A-9", "npm", "lodash", "0", "1.0.0")), 0o644)
	os.WriteFile(filepath.Join(dir, "A-3.json"), []byte(strings.Replace(record("A-3", "npm", "express", "0", "4.1.0"), "2024-01-01", "2024-06-01", 1)), 0o644)
	bs, err := ReadPath(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Import(context.Background(), bs, t0); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, db, "npm", "lodash"); got != "A-1,A-2,A-9" {
		t.Errorf("after merge: %s", got)
	}
	ix, _ := db.Open("npm")
	recs, _ := ix.Lookup("express")
	ix.Close()
	if len(recs) != 1 || recs[0].FixedVersions("npm", "express")[0] != "4.1.0" {
		t.Errorf("same id did not replace: %+v", recs)
	}

	// An all.zip replaces the ecosystem wholesale.
	importZip(t, db, zipOf(t, record("B-1", "npm", "lodash", "0", "1.0.0")))
	if got := ids(t, db, "npm", "lodash"); got != "B-1" {
		t.Errorf("after replace: %s", got)
	}
	if got := ids(t, db, "npm", "express"); got != "" {
		t.Errorf("replace kept express: %s", got)
	}
	if got := ids(t, db, "PyPI", "django"); got != "P-1" {
		t.Errorf("replacing npm touched PyPI: %s", got)
	}
	st, err := db.Status()
	if err != nil || len(st) != 2 {
		t.Fatalf("status: %+v %v", st, err)
	}
}

func TestImportRejectsBadRecord(t *testing.T) {
	data := zipOf(t, record("A-1", "npm", "x", "0", "1"), `{"id":"BAD","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1"}]}]}]}`)
	_, err := ReadZip(context.Background(), "all.zip", bytes.NewReader(data), int64(len(data)))
	var ie *InvalidRecordError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "all.zip:REC-1.json") || !strings.Contains(err.Error(), "BAD") {
		t.Errorf("err = %v", err)
	}
	_, err = ReadZip(context.Background(), "x.zip", strings.NewReader("not a zip"), 9)
	if !errors.As(err, &ie) {
		t.Errorf("not a zip: %v", err)
	}
}

func TestCorruptIndex(t *testing.T) {
	db := &DB{Dir: t.TempDir()}
	importZip(t, db, zipOf(t, record("A-1", "npm", "x", "0", "1")))
	p := filepath.Join(db.Dir, "npm"+indexSuffix)
	data, _ := os.ReadFile(p)
	os.WriteFile(p, data[:len(data)/2], 0o600)
	if _, err := db.Status(); !errors.Is(err, ErrCorrupt) && err != nil {
		t.Logf("status on a truncated file: %v", err)
	}
	os.WriteFile(p, []byte("garbage\n"), 0o600)
	if _, err := db.Open("npm"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage: %v", err)
	}
}

func TestUpdateOverHTTP(t *testing.T) {
	npm := zipOf(t, record("N-1", "npm", "lodash", "0", "4.17.21"))
	pypi := zipOf(t, record("P-1", "PyPI", "django", "0", "4.2.1"))
	var failPyPI atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /npm/all.zip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/zip")
		w.Write(npm)
	})
	mux.HandleFunc("GET /PyPI/all.zip", func(w http.ResponseWriter, r *http.Request) {
		if failPyPI.Load() {
			// A truncated body: the length promises more than is sent.
			w.Header().Set("Content-Length", fmt.Sprint(len(pypi)))
			w.Write(pypi[:len(pypi)/2])
			return
		}
		w.Write(pypi)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	db := &DB{Dir: filepath.Join(t.TempDir(), "osv")}
	now := func() time.Time { return t0 }
	var calls atomic.Int64
	progress := func(string) Progress { return func(done, total int64) { calls.Add(1) } }
	res := db.Update(context.Background(), srv.Client(), srv.URL, []string{"npm", "PyPI"}, 1<<20, now, progress)
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Ecosystem, r.Err)
		}
	}
	if calls.Load() == 0 {
		t.Error("no progress reported")
	}
	before, _ := os.ReadFile(filepath.Join(db.Dir, "PyPI"+indexSuffix))

	failPyPI.Store(true)
	res = db.Update(context.Background(), srv.Client(), srv.URL, []string{"PyPI", "Maven"}, 1<<20, func() time.Time { return t0.Add(time.Hour) }, nil)
	if res[0].Err == nil || res[1].Err == nil {
		t.Fatalf("expected both to fail: %+v", res)
	}
	after, _ := os.ReadFile(filepath.Join(db.Dir, "PyPI"+indexSuffix))
	if !bytes.Equal(before, after) {
		t.Error("a failed download changed the previous database")
	}
	if got := ids(t, db, "PyPI", "django"); got != "P-1" {
		t.Errorf("previous database lost: %q", got)
	}
	left, _ := filepath.Glob(filepath.Join(db.Dir, ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	// The size limit holds.
	if r := db.Update(context.Background(), srv.Client(), srv.URL, []string{"npm"}, 10, now, nil); !errors.Is(r[0].Err, ErrTooLarge) {
		t.Errorf("size limit: %v", r[0].Err)
	}
}
