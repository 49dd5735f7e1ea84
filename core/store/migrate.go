package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// embeddedMigrations holds the SQL migrations of every implemented dialect,
// one directory per dialect. It is read-only.
//
//go:embed migrations/sqlite/*.sql
var embeddedMigrations embed.FS

// migration is one schema change.
type migration struct {
	version int
	name    string // file name without the version prefix and .sql suffix
	sql     string
}

// String returns the migration's file name stem, e.g. "0001_meta".
func (m migration) String() string { return fmt.Sprintf("%04d_%s", m.version, m.name) }

// dialectMigrations returns the embedded migrations of d, rooted so that the
// NNNN_name.sql files are at the top level.
func dialectMigrations(d Dialect) (fs.FS, error) {
	switch d {
	case SQLite:
		sub, err := fs.Sub(embeddedMigrations, "migrations/sqlite")
		if err != nil {
			return nil, fmt.Errorf("load %s migrations: %w", d, err)
		}
		return sub, nil
	default:
		return nil, fmt.Errorf("load migrations: dialect %q is not implemented", d)
	}
}

// loadMigrations reads and validates the migrations at the top level of
// fsys. Every entry must be a file named NNNN_name.sql with non-empty
// contents, and the versions must be exactly 1, 2, ..., n: duplicates, gaps
// and stray files are programming errors, reported rather than skipped.
// The result is sorted by version.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		fileName := e.Name()
		version, name, ok := parseMigrationName(fileName)
		if e.IsDir() || !ok {
			return nil, fmt.Errorf("invalid migration file name %q: want NNNN_name.sql (4-digit version from 0001, lowercase snake_case name)", fileName)
		}
		body, err := fs.ReadFile(fsys, fileName)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", fileName, err)
		}
		if strings.TrimSpace(string(body)) == "" {
			return nil, fmt.Errorf("migration %s is empty", fileName)
		}
		ms = append(ms, migration{version: version, name: name, sql: string(body)})
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if i > 0 && ms[i-1].version == m.version {
			return nil, fmt.Errorf("duplicate migration version %04d: %s and %s", m.version, ms[i-1], m)
		}
		if want := i + 1; m.version != want {
			return nil, fmt.Errorf("missing migration version %04d (next is %s)", want, m)
		}
	}
	return ms, nil
}

// parseMigrationName splits a strict migration file name: exactly four
// digits (0001 or higher), an underscore, and a name of lowercase letters
// and digits in non-empty underscore-separated words, then ".sql".
func parseMigrationName(fileName string) (version int, name string, ok bool) {
	stem, found := strings.CutSuffix(fileName, ".sql")
	if !found || len(stem) < 6 || stem[4] != '_' {
		return 0, "", false
	}
	for _, c := range stem[:4] {
		if c < '0' || c > '9' {
			return 0, "", false
		}
	}
	version, err := strconv.Atoi(stem[:4])
	if err != nil || version < 1 {
		return 0, "", false
	}
	name = stem[5:]
	for _, word := range strings.Split(name, "_") {
		if word == "" {
			return 0, "", false
		}
		for _, c := range word {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				return 0, "", false
			}
		}
	}
	return version, name, true
}

// createMigrationsTable is valid in both SQLite and PostgreSQL.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)`

// currentVersion returns the highest applied migration version, 0 if none.
func currentVersion(ctx context.Context, q Queryer) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	return v, nil
}

// migrate brings the schema up to the newest of ms, which loadMigrations
// has validated. Each pending migration runs in its own write transaction
// that re-reads the version first, so several processes opening the same
// database at once each apply a migration at most once between them.
func (s *Store) migrate(ctx context.Context, ms []migration) error {
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	var current int
	// Usually there is nothing to do: check without the write lock first.
	if err := s.Read(ctx, func(ctx context.Context, q Queryer) error {
		var tables int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables); err != nil || tables == 0 {
			return errors.New("no schema_migrations table")
		}
		v, err := currentVersion(ctx, q)
		current = v
		return err
	}); err == nil {
		if current > latest {
			return &SchemaTooNewError{Version: current, Supported: latest}
		}
		if current == latest {
			return nil
		}
	}
	err := s.Write(ctx, func(ctx context.Context, tx Queryer) error {
		if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
			return fmt.Errorf("create schema_migrations table: %w", err)
		}
		v, err := currentVersion(ctx, tx)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		current = v
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > latest {
		return &SchemaTooNewError{Version: current, Supported: latest}
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if err := s.applyMigration(ctx, m, latest); err != nil {
			var tooNew *SchemaTooNewError
			if errors.As(err, &tooNew) {
				return err
			}
			return fmt.Errorf("apply migration %s: %w", m, err)
		}
	}
	return nil
}

// applyMigration runs m and records it, unless another connection applied
// it since migrate looked.
func (s *Store) applyMigration(ctx context.Context, m migration, latest int) error {
	return s.Write(ctx, func(ctx context.Context, tx Queryer) error {
		v, err := currentVersion(ctx, tx)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		switch {
		case v > latest:
			return &SchemaTooNewError{Version: v, Supported: latest}
		case v >= m.version:
			return nil // applied concurrently by another process
		case v != m.version-1:
			return fmt.Errorf("database is at schema version %d, expected %d", v, m.version-1)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UTC().Format(time.RFC3339))
		if err != nil {
			return fmt.Errorf("record migration: %w", err)
		}
		return nil
	})
}
