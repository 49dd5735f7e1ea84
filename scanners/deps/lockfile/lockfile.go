// Package lockfile reads the dependency lockfiles of the common package
// managers (and Go binaries' build info) into a flat list of packages, each
// with the file and line it was declared on.
package lockfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Ecosystems, named as the OSV schema names them.
const (
	Go        = "Go"
	NPM       = "npm"
	PyPI      = "PyPI"
	CratesIO  = "crates.io"
	RubyGems  = "RubyGems"
	Packagist = "Packagist"
)

// Dependency kinds. Unknown means the lockfile does not say.
const (
	Direct     = "direct"
	Transitive = "transitive"
	Unknown    = ""
)

// Package is one resolved package in a lockfile.
type Package struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Ecosystem string `json:"ecosystem"`
	// Dependency is direct, transitive, or empty when the lockfile does not say.
	Dependency string `json:"dependency,omitempty"`
	Dev        bool   `json:"dev,omitempty"`
	File       string `json:"file"`
	Line       int    `json:"line"`
}

// ParseError is malformed input, with the file and line it was found at
// (line 0 when the whole file is at fault).
type ParseError struct {
	File string
	Line int
	Msg  string
	Err  error
}

func (e *ParseError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Err != nil && e.Msg == "" {
		return fmt.Sprintf("%s: %v", loc, e.Err)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", loc, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

func (e *ParseError) Unwrap() error { return e.Err }

func perr(file string, line int, format string, args ...any) error {
	return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// ErrUnknownFormat is returned for a file no parser recognises by name.
var ErrUnknownFormat = errors.New("not a lockfile warden reads")

type parser func(file string, data []byte) ([]Package, error)

// Kind names the parser for a file name, or "" when none applies.
func Kind(path string) string {
	base := filepath.Base(path)
	switch base {
	case "go.mod", "go.sum", "package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "yarn.lock",
		"poetry.lock", "uv.lock", "Pipfile.lock", "Cargo.lock", "Gemfile.lock", "gems.locked", "composer.lock":
		return base
	}
	if strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt") {
		return "requirements.txt"
	}
	return ""
}

var parsers = map[string]parser{
	"go.mod":              parseGoMod,
	"go.sum":              parseGoSum,
	"package-lock.json":   parseNPMLock,
	"npm-shrinkwrap.json": parseNPMLock,
	"pnpm-lock.yaml":      parsePNPMLock,
	"yarn.lock":           parseYarnLock,
	"requirements.txt":    nil, // needs the file system for -r includes
	"poetry.lock":         parsePoetryLock,
	"uv.lock":             parseUVLock,
	"Pipfile.lock":        parsePipfileLock,
	"Cargo.lock":          parseCargoLock,
	"Gemfile.lock":        parseGemfileLock,
	"gems.locked":         parseGemfileLock,
	"composer.lock":       parseComposerLock,
}

// Parse reads one lockfile. Errors about the content are *ParseError.
func Parse(ctx context.Context, path string) ([]Package, error) {
	kind := Kind(path)
	if kind == "" {
		return nil, fmt.Errorf("%s: %w", path, ErrUnknownFormat)
	}
	if kind == "requirements.txt" {
		return parseRequirements(path, map[string]bool{})
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parsers[kind](path, data)
}

// skipDirs are never descended into by Find.
var skipDirs = map[string]bool{".git": true, "node_modules": true, ".hg": true, ".svn": true}

// Find lists the lockfiles at path: path itself when it is a file, the
// lockfiles directly in it when it is a directory, and with recursive the
// lockfiles of every directory below it (except .git and node_modules).
// A go.sum beside a go.mod is left out: go.mod lists the selected versions.
func Find(path string, recursive bool) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		if Kind(path) == "" {
			return nil, fmt.Errorf("%s: %w", path, ErrUnknownFormat)
		}
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != path && (!recursive || skipDirs[d.Name()]) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || Kind(p) == "" {
			return nil
		}
		if d.Name() == "go.sum" {
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), "go.mod")); err == nil {
				return nil
			}
		}
		out = append(out, p)
		return nil
	})
	sort.Strings(out)
	return out, err
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (l lineIndex) line(off int64) int {
	return sort.Search(len(l), func(i int) bool { return int64(l[i]) > off })
}
