package store

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// embeddedSQLite returns the embedded SQLite migrations.
func embeddedSQLite(t *testing.T) fs.FS {
	t.Helper()
	fsys, err := dialectMigrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// withExtra returns the first embedded SQLite migration (0001_meta, which
// Open relies on) plus extra files numbered from 0002.
func withExtra(t *testing.T, extra fstest.MapFS) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	base := embeddedSQLite(t)
	entries, err := fs.ReadDir(base, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries[:1] {
		data, err := fs.ReadFile(base, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = &fstest.MapFile{Data: data}
	}
	maps.Copy(out, extra)
	return out
}

func TestEmbeddedMigrationsAreValid(t *testing.T) {
	// Duplicate versions, gaps, bad names or empty files in
	// migrations/sqlite fail here, long before any user opens a database.
	ms, err := loadMigrations(embeddedSQLite(t))
	if err != nil {
		t.Fatalf("embedded Migrations: %v", err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	if got := ms[0].String(); got != "0001_meta" {
		t.Errorf("first migration = %s, want 0001_meta", got)
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %d has version %d", i, m.version)
		}
	}
	if _, err := dialectMigrations(Postgres); err == nil {
		t.Error("Postgres migrations loaded although the dialect is not implemented")
	}
}

func TestLoadMigrationsRejectsMistakes(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("CREATE TABLE x (a INTEGER);")}
	for name, tc := range map[string]struct {
		fsys    fstest.MapFS
		wantErr string
	}{
		"duplicate version": {fstest.MapFS{"0001_a.sql": sql, "0001_b.sql": sql}, "duplicate migration version 0001"},
		"gap":               {fstest.MapFS{"0001_a.sql": sql, "0003_c.sql": sql}, "missing migration version 0002"},
		"not starting at 1": {fstest.MapFS{"0002_b.sql": sql}, "missing migration version 0001"},
		"version zero":      {fstest.MapFS{"0000_a.sql": sql}, "invalid migration file name"},
		"3-digit version":   {fstest.MapFS{"001_a.sql": sql}, "invalid migration file name"},
		"5-digit version":   {fstest.MapFS{"00001_a.sql": sql}, "invalid migration file name"},
		"no name":           {fstest.MapFS{"0001_.sql": sql}, "invalid migration file name"},
		"no underscore":     {fstest.MapFS{"0001a.sql": sql}, "invalid migration file name"},
		"upper case name":   {fstest.MapFS{"0001_Meta.sql": sql}, "invalid migration file name"},
		"double underscore": {fstest.MapFS{"0001_a__b.sql": sql}, "invalid migration file name"},
		"trailing _":        {fstest.MapFS{"0001_a_.sql": sql}, "invalid migration file name"},
		"dash in name":      {fstest.MapFS{"0001_a-b.sql": sql}, "invalid migration file name"},
		"wrong extension":   {fstest.MapFS{"0001_a.sql.bak": sql}, "invalid migration file name"},
		"stray file":        {fstest.MapFS{"0001_a.sql": sql, "README.md": sql}, "invalid migration file name"},
		"subdirectory":      {fstest.MapFS{"0001_a.sql": sql, "0002_b.sql/x": sql}, "invalid migration file name"},
		"empty file":        {fstest.MapFS{"0001_a.sql": &fstest.MapFile{Data: []byte(" \n")}}, "migration 0001_a.sql is empty"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadMigrations(tc.fsys)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}

	ms, err := loadMigrations(fstest.MapFS{"0002_b_2.sql": sql, "0001_a.sql": sql})
	if err != nil {
		t.Fatalf("valid Migrations: %v", err)
	}
	if len(ms) != 2 || ms[0].String() != "0001_a" || ms[1].String() != "0002_b_2" {
		t.Errorf("loaded %v, want [0001_a 0002_b_2] in order", ms)
	}
}

// migrationRows returns the schema_migrations rows as "version name
// applied_at" strings.
func migrationRows(t *testing.T, s *Store) []string {
	t.Helper()
	var rows []string
	err := s.Read(context.Background(), func(ctx context.Context, q Queryer) error {
		r, err := q.QueryContext(ctx, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
		if err != nil {
			return err
		}
		defer r.Close()
		for r.Next() {
			var v, name, at string
			if err := r.Scan(&v, &name, &at); err != nil {
				return err
			}
			rows = append(rows, v+" "+name+" "+at)
		}
		return r.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestMigrationsAppliedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warden.db")
	migrations := withExtra(t, fstest.MapFS{
		// Several statements in one file, including a data change that
		// would be visible if the migration ran twice.
		"0002_widgets.sql": {Data: []byte(`
CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO widgets (name) VALUES ('first');
`)},
		"0003_widget_color.sql": {Data: []byte(`ALTER TABLE widgets ADD COLUMN color TEXT;`)},
	})
	opts := Options{Path: path, Migrations: migrations}

	s1, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s1.SchemaVersion(context.Background()); err != nil || v != 3 {
		t.Errorf("SchemaVersion = %d, %v; want 3", v, err)
	}
	first := migrationRows(t, s1)
	if len(first) != 3 || !strings.HasPrefix(first[0], "1 meta ") || !strings.HasPrefix(first[2], "3 widget_color ") {
		t.Errorf("schema_migrations = %q", first)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	for range 2 {
		s := openWith(t, opts)
		if v, err := s.SchemaVersion(context.Background()); err != nil || v != 3 {
			t.Errorf("after reopen SchemaVersion = %d, %v; want 3", v, err)
		}
		if got := migrationRows(t, s); strings.Join(got, "|") != strings.Join(first, "|") {
			t.Errorf("reopen changed schema_migrations:\n got %q\nwant %q", got, first)
		}
		if n := readInt(t, s, `SELECT COUNT(*) FROM widgets`); n != 1 {
			t.Errorf("widgets has %d rows, want 1 (migration re-run?)", n)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrationsUpgradeExistingDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warden.db")
	old := openAt(t, path) // embedded migrations only
	id, err := old.InstanceID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	latest, err := old.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	// A newer warden with one more migration opens the same database.
	next := fstest.MapFS{"0002_notes.sql": {Data: []byte(`CREATE TABLE notes (body TEXT NOT NULL);`)}}
	if latest != 1 {
		t.Skipf("test assumes one embedded migration, have %d", latest)
	}
	s := openWith(t, Options{Path: path, Migrations: withExtra(t, next)})
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != 2 {
		t.Errorf("SchemaVersion = %d, %v; want 2", v, err)
	}
	if id2, err := s.InstanceID(context.Background()); err != nil || id2 != id {
		t.Errorf("InstanceID after upgrade = %q, %v; want %q", id2, err, id)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warden.db")
	bad := withExtra(t, fstest.MapFS{
		"0002_half.sql": {Data: []byte(`
CREATE TABLE half (a INTEGER);
INSERT INTO no_such_table VALUES (1);
`)},
	})
	_, err := Open(context.Background(), Options{Path: path, Migrations: bad})
	if err == nil || !strings.Contains(err.Error(), "apply migration 0002_half") {
		t.Fatalf("Open err = %v, want a failure applying 0002_half", err)
	}

	// The database stays at version 1, without the half-created table.
	s, err := Open(context.Background(), Options{Path: path, Migrations: withExtra(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != 1 {
		t.Errorf("SchemaVersion = %d, %v; want 1", v, err)
	}
	if n := readInt(t, s, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`); n != 0 {
		t.Error("table from the failed migration exists")
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warden.db")
	// A newer warden migrates the database to version 3 ...
	newer := withExtra(t, fstest.MapFS{
		"0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER);`)},
		"0003_c.sql": {Data: []byte(`CREATE TABLE c (x INTEGER);`)},
	})
	s, err := Open(context.Background(), Options{Path: path, Migrations: newer})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// ... and then this warden, which only knows version 1, opens it.
	s, err = Open(context.Background(), Options{Path: path, Migrations: withExtra(t, nil)})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database with a newer schema")
	}
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("err = %v, want ErrSchemaTooNew", err)
	}
	var tooNew *SchemaTooNewError
	if !errors.As(err, &tooNew) || tooNew.Version != 3 || tooNew.Supported != 1 {
		t.Errorf("errors.As: %+v, want Version 3 Supported 1", tooNew)
	}
	want := "open database " + path + ": database schema version 3 is newer than this warden supports (1); upgrade warden"
	if err.Error() != want {
		t.Errorf("message:\n got %q\nwant %q", err.Error(), want)
	}

	// Refusing did not modify the database: the newer warden still opens it.
	s = openWith(t, Options{Path: path, Migrations: newer})
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != 3 {
		t.Errorf("SchemaVersion = %d, %v; want 3", v, err)
	}
}
