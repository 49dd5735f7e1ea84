package lockfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// write puts content in dir/name and returns the path.
func write(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// summary renders packages as "name@version dep line" sorted, for comparison.
func summary(pkgs []Package) string {
	var out []string
	for _, p := range pkgs {
		dep := p.Dependency
		if dep == "" {
			dep = "?"
		}
		out = append(out, fmt.Sprintf("%s %s@%s %s:%d", p.Ecosystem, p.Name, p.Version, dep, p.Line))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func parse(t *testing.T, name, content string) []Package {
	t.Helper()
	p := write(t, t.TempDir(), name, content)
	pkgs, err := Parse(context.Background(), p)
	if err != nil {
		t.Fatalf("Parse %s: %v", name, err)
	}
	for _, pk := range pkgs {
		if pk.File != p {
			t.Errorf("%s: file %q, want %q", pk.Name, pk.File, p)
		}
	}
	return pkgs
}

func check(t *testing.T, got []Package, want ...string) {
	t.Helper()
	sort.Strings(want)
	if g, w := summary(got), strings.Join(want, "\n"); g != w {
		t.Errorf("packages:\n%s\nwant:\n%s", g, w)
	}
}

func parseErr(t *testing.T, name, content string) *ParseError {
	t.Helper()
	p := write(t, t.TempDir(), name, content)
	_, err := Parse(context.Background(), p)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Parse %s: err = %v, want a *ParseError", name, err)
	}
	if pe.File != p || !strings.HasPrefix(err.Error(), p) {
		t.Errorf("error %q does not name the file %s", err, p)
	}
	return pe
}

func TestPackageLockV3(t *testing.T) {
	got := parse(t, "package-lock.json", `{
  "name": "app",
  "lockfileVersion": 3,
  "packages": {
    "": {
      "name": "app",
      "dependencies": {"express": "^4.0.0", "str": "npm:string-width@^4"},
      "devDependencies": {"@types/node": "^20"}
    },
    "node_modules/express": {
      "version": "4.18.2"
    },
    "node_modules/@types/node": {
      "version": "20.1.0",
      "dev": true
    },
    "node_modules/express/node_modules/qs": {
      "version": "6.11.0"
    },
    "node_modules/str": {
      "name": "string-width",
      "version": "4.2.3"
    },
    "node_modules/local": {
      "resolved": "packages/local",
      "link": true
    },
    "packages/local": {
      "version": "1.0.0"
    },
    "node_modules/gitdep": {
      "version": "git+ssh://git@example.com/x.git#abc"
    }
  }
}`)
	check(t, got,
		"npm express@4.18.2 direct:10",
		"npm @types/node@20.1.0 direct:13",
		"npm qs@6.11.0 transitive:17",
		"npm string-width@4.2.3 direct:20")
	for _, p := range got {
		if p.Name == "@types/node" && !p.Dev {
			t.Error("@types/node should be a dev dependency")
		}
	}
}

func TestPackageLockV1(t *testing.T) {
	got := parse(t, "npm-shrinkwrap.json", `{
  "name": "app",
  "lockfileVersion": 1,
  "dependencies": {
    "a": {
      "version": "1.0.0",
      "dependencies": {
        "b": {
          "version": "2.0.0"
        }
      }
    },
    "alias": {
      "version": "npm:real@3.0.0"
    },
    "c": {
      "version": "file:../c"
    }
  }
}`)
	check(t, got, "npm a@1.0.0 ?:5", "npm b@2.0.0 ?:8", "npm real@3.0.0 ?:13")
}

func TestPackageLockErrors(t *testing.T) {
	pe := parseErr(t, "package-lock.json", "{\n  \"packages\": {\n    \"node_modules/a\": {\"version\": 1.0}\n  }\n}\n")
	if pe.Line != 3 {
		t.Errorf("wrong type: line %d, want 3 (%v)", pe.Line, pe)
	}
	pe = parseErr(t, "package-lock.json", "{\n  \"packages\": {\n    \"node_modules/a\": {\"version\": \"1\"},\n    oops\n  }\n}\n")
	if pe.Line != 4 {
		t.Errorf("syntax error: line %d, want 4 (%v)", pe.Line, pe)
	}
	pe = parseErr(t, "package-lock.json", "{\n  \"packages\": {\n    \"node_modules/a\": {}\n  }\n}\n")
	if pe.Line != 3 || !strings.Contains(pe.Error(), "no version") {
		t.Errorf("missing version: %v", pe)
	}
	parseErr(t, "package-lock.json", "{\n  \"packages\": {\n")
}

func TestPNPM(t *testing.T) {
	v9 := parse(t, "pnpm-lock.yaml", `lockfileVersion: '9.0'

importers:

  .:
    dependencies:
      react:
        specifier: ^18.2.0
        version: 18.2.0
    devDependencies:
      '@babel/core':
        specifier: ^7
        version: 7.23.0

packages:

  react@18.2.0:
    resolution: {integrity: sha512-x}

  '@babel/core@7.23.0':
    resolution: {integrity: sha512-y}

  loose-envify@1.4.0(typescript@5.0.0):
    resolution: {integrity: sha512-z}

  tar@https://example.com/tar.tgz:
    resolution: {tarball: https://example.com/tar.tgz}
`)
	check(t, v9, "npm react@18.2.0 direct:17", "npm @babel/core@7.23.0 direct:20", "npm loose-envify@1.4.0 transitive:23")

	v6 := parse(t, "pnpm-lock.yaml", `lockfileVersion: '6.0'
dependencies:
  left-pad:
    specifier: ^1
    version: 1.3.0
packages:
  /left-pad@1.3.0:
    resolution: {integrity: sha512-a}
    dev: false
  /@scope/x@2.0.0(react@18.0.0):
    resolution: {integrity: sha512-b}
    dev: true
`)
	check(t, v6, "npm left-pad@1.3.0 direct:7", "npm @scope/x@2.0.0 transitive:10")

	v5 := parse(t, "pnpm-lock.yaml", `lockfileVersion: 5.4
specifiers:
  a: ^1
dependencies:
  a: 1.0.0
packages:
  /a/1.0.0:
    resolution: {integrity: sha512-a}
  /@s/b/2.1.0_react@18.0.0:
    resolution: {integrity: sha512-b}
`)
	check(t, v5, "npm a@1.0.0 direct:7", "npm @s/b@2.1.0 transitive:9")

	pe := parseErr(t, "pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: {\n")
	if pe.Line == 0 {
		t.Errorf("YAML error without a line: %v", pe)
	}
}

func TestYarn(t *testing.T) {
	v1 := parse(t, "yarn.lock", `# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.12.13"
  resolved "https://registry.example/@babel/code-frame/-/code-frame-7.12.13.tgz"
  dependencies:
    "@babel/highlight" "^7.12.13"

lodash@^4.17.15:
  version "4.17.21"

str@npm:string-width@^4:
  version "4.2.3"
`)
	check(t, v1, "npm @babel/code-frame@7.12.13 ?:5", "npm lodash@4.17.21 ?:11", "npm string-width@4.2.3 ?:14")

	berry := parse(t, "yarn.lock", `# This file is generated by running "yarn install" inside your project.

__metadata:
  version: 6
  cacheKey: 8

"@babel/core@npm:^7.0.0":
  version: 7.23.0
  resolution: "@babel/core@npm:7.23.0"
  dependencies:
    debug: ^4.1.0
  languageName: node
  linkType: hard

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  languageName: unknown
  linkType: soft

"resolve@patch:resolve@^1.0.0#~builtin<compat/resolve>":
  version: 1.22.1
  resolution: "resolve@patch:resolve@npm%3A1.22.1#~builtin<compat/resolve>::version=1.22.1"
`)
	check(t, berry, "npm @babel/core@7.23.0 ?:7")

	pe := parseErr(t, "yarn.lock", "lodash@^4:\n  resolved \"x\"\n")
	if pe.Line != 1 {
		t.Errorf("entry without version: %v", pe)
	}
	pe = parseErr(t, "yarn.lock", "# yarn lockfile v1\nlodash@^4\n  version \"1\"\n")
	if pe.Line != 2 {
		t.Errorf("bad header: %v", pe)
	}
}

func TestRequirements(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "base.txt", "Django==4.2.1\n")
	p := write(t, dir, "requirements.txt", `# pinned
-r base.txt
--index-url https://pypi.example/simple
requests[security]==2.31.0 ; python_version >= "3.8"
Flask_Login===0.6.2 \
    --hash=sha256:abc
numpy>=1.0
urllib3
pkg @ https://example.com/pkg.whl
-e git+https://example.com/x.git#egg=x
zope.interface==6.0  # comment
`)
	got, err := Parse(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, pk := range got {
		s = append(s, fmt.Sprintf("%s@%s %s:%d", pk.Name, pk.Version, filepath.Base(pk.File), pk.Line))
	}
	want := "django@4.2.1 base.txt:1,requests@2.31.0 requirements.txt:4,flask-login@0.6.2 requirements.txt:5,zope-interface@6.0 requirements.txt:11"
	if strings.Join(s, ",") != want {
		t.Errorf("got %s\nwant %s", strings.Join(s, ","), want)
	}
	pe := parseErr(t, "requirements.txt", "requests==2.0\n==1.0\n")
	if pe.Line != 2 {
		t.Errorf("line %d: %v", pe.Line, pe)
	}
	pe = parseErr(t, "requirements-dev.txt", "a==1\nb==1 2\n")
	if pe.Line != 2 {
		t.Errorf("line %d: %v", pe.Line, pe)
	}
}

func TestPoetryUVPipfile(t *testing.T) {
	poetry := parse(t, "poetry.lock", `# This file is automatically @generated by Poetry.

[[package]]
name = "Requests"
version = "2.31.0"
description = "HTTP"
optional = false
python-versions = ">=3.7"
files = [
    {file = "requests-2.31.0.tar.gz", hash = "sha256:x"},
]

[package.dependencies]
certifi = ">=2017.4.17"

[[package]]
name = "mylib"
version = "0.1.0"

[package.source]
type = "git"
url = "https://example.com/mylib.git"

[[package]]
name = "pytest"
version = "7.0.0"
category = "dev"

[metadata]
lock-version = "2.0"
`)
	check(t, poetry, "PyPI requests@2.31.0 ?:3", "PyPI pytest@7.0.0 ?:24")

	uv := parse(t, "uv.lock", `version = 1
requires-python = ">=3.12"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "httpx" },
]

[[package]]
name = "httpx"
version = "0.27.0"
source = { registry = "https://pypi.example/simple" }
dependencies = [
    { name = "anyio" },
]
sdist = { url = "https://example.com/httpx.tar.gz", hash = "sha256:x", size = 1 }
wheels = [
    { url = "https://example.com/httpx.whl", hash = "sha256:y", size = 2 },
]

[[package]]
name = "anyio"
version = "4.3.0"
source = { registry = "https://pypi.example/simple" }
`)
	check(t, uv, "PyPI httpx@0.27.0 direct:12", "PyPI anyio@4.3.0 transitive:24")

	pip := parse(t, "Pipfile.lock", `{
    "_meta": {"hash": {"sha256": "x"}},
    "default": {
        "Jinja2": {
            "hashes": [],
            "version": "==3.1.2"
        },
        "mylib": {"git": "https://example.com/mylib.git", "ref": "abc"}
    },
    "develop": {
        "pytest": {"version": "==7.4.0"}
    }
}`)
	check(t, pip, "PyPI jinja2@3.1.2 ?:4", "PyPI pytest@7.4.0 ?:11")

	pe := parseErr(t, "poetry.lock", "[[package]]\nname = \"a\"\n\n[[package]]\nname = \"b\"\nversion = \"1\"\n")
	if pe.Line != 1 {
		t.Errorf("package without version: %v", pe)
	}
	pe = parseErr(t, "uv.lock", "[[package]]\nname = \"a\"\nversion = 1.0\n")
	if pe.Line != 3 {
		t.Errorf("version not a string: %v", pe)
	}
}

func TestCargoGemfileComposer(t *testing.T) {
	cargo := parse(t, "Cargo.lock", `# This file is automatically @generated by Cargo.
version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "serde",
 "time 0.3.0",
]

[[package]]
name = "serde"
version = "1.0.190"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "abc"

[[package]]
name = "time"
version = "0.3.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "time"
version = "0.1.45"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "gitcrate"
version = "0.1.0"
source = "git+https://example.com/gitcrate#abc"
`)
	check(t, cargo, "crates.io serde@1.0.190 direct:12", "crates.io time@0.3.0 direct:18", "crates.io time@0.1.45 transitive:23")

	gem := parse(t, "Gemfile.lock", `GIT
  remote: https://example.com/x.git
  revision: abc
  specs:
    x (1.0)

GEM
  remote: https://rubygems.example/
  specs:
    actionpack (7.0.4)
      rack (~> 2.0)
    nokogiri (1.13.10-x86_64-linux)
      racc (~> 1.4)
    rack (2.2.4)

PLATFORMS
  x86_64-linux

DEPENDENCIES
  actionpack (~> 7.0)
  nokogiri!

BUNDLED WITH
   2.4.10
`)
	check(t, gem, "RubyGems actionpack@7.0.4 direct:10", "RubyGems nokogiri@1.13.10 direct:12", "RubyGems rack@2.2.4 transitive:14")

	composer := parse(t, "composer.lock", `{
    "packages": [
        {
            "name": "monolog/monolog",
            "version": "v2.9.1"
        },
        {
            "name": "acme/dev",
            "version": "dev-main"
        }
    ],
    "packages-dev": [
        {"name": "phpunit/phpunit", "version": "9.6.0"}
    ]
}`)
	check(t, composer, "Packagist monolog/monolog@2.9.1 ?:3", "Packagist phpunit/phpunit@9.6.0 ?:13")
	pe := parseErr(t, "Gemfile.lock", "GEM\n  specs:\n    rack 2.2.4\n")
	if pe.Line != 3 {
		t.Errorf("gem line: %v", pe)
	}
}

func TestGoMod(t *testing.T) {
	got := parse(t, "go.mod", `module example.com/app

go 1.22

toolchain go1.22.3

require github.com/pkg/errors v0.9.1

require (
	golang.org/x/text v0.3.7 // indirect
	golang.org/x/net v0.10.0
	example.com/local v1.0.0
)

replace golang.org/x/net => golang.org/x/net v0.17.0

replace example.com/local => ../local
`)
	check(t, got, "Go github.com/pkg/errors@0.9.1 direct:7", "Go golang.org/x/text@0.3.7 transitive:10",
		"Go golang.org/x/net@0.17.0 direct:11", "Go stdlib@1.22.3 direct:5")

	sum := parse(t, "go.sum", `github.com/pkg/errors v0.8.0 h1:a=
github.com/pkg/errors v0.8.0/go.mod h1:b=
github.com/pkg/errors v0.9.1 h1:c=
github.com/pkg/errors v0.9.1/go.mod h1:d=
golang.org/x/text v0.3.0/go.mod h1:e=
`)
	check(t, sum, "Go github.com/pkg/errors@0.9.1 ?:3")

	pe := parseErr(t, "go.mod", "module x\n\nrequire (\n\tgithub.com/a/b 1.0.0\n)\n")
	if pe.Line != 4 {
		t.Errorf("bad require: %v", pe)
	}
	pe = parseErr(t, "go.mod", "module x\n\nrequire (\n\tgithub.com/a/b v1.0.0\n")
	if pe.Line != 3 {
		t.Errorf("unterminated block: %v", pe)
	}
}

func TestGoBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := ParseGoBinary(exe)
	if err != nil {
		t.Fatal(err)
	}
	var stdlib bool
	for _, p := range pkgs {
		if p.Name == "stdlib" && strings.HasPrefix(p.Version, "1.") {
			stdlib = true
		}
		if strings.HasPrefix(p.Version, "v") {
			t.Errorf("%s: version %q keeps its v", p.Name, p.Version)
		}
	}
	if !stdlib {
		t.Errorf("no stdlib package in %v", pkgs)
	}
	notGo := write(t, t.TempDir(), "x", "not a binary")
	_, err = ParseGoBinary(notGo)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != notGo {
		t.Errorf("non-binary: %v", err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "go.mod", "module x\n")
	write(t, dir, "go.sum", "")
	write(t, dir, "README.md", "")
	write(t, dir, "web/package-lock.json", "{}")
	write(t, dir, "web/node_modules/x/package-lock.json", "{}")
	write(t, dir, ".git/yarn.lock", "")
	write(t, dir, "py/go.sum", "")
	top, err := Find(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 1 || filepath.Base(top[0]) != "go.mod" {
		t.Errorf("non-recursive: %v", top)
	}
	all, err := Find(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, p := range all {
		r, _ := filepath.Rel(dir, p)
		rel = append(rel, filepath.ToSlash(r))
	}
	if got := strings.Join(rel, " "); got != "go.mod py/go.sum web/package-lock.json" {
		t.Errorf("recursive: %s", got)
	}
	if _, err := Find(filepath.Join(dir, "README.md"), false); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("README.md: %v", err)
	}
}

// BenchmarkPackageLock parses a package-lock.json of 5,000 entries, the
// size of a large web application's.
func BenchmarkPackageLock(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\"dependencies\": {\"pkg-0\": \"1\"}}")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&sb, ",\n    \"node_modules/pkg-%d\": {\n      \"version\": \"1.%d.0\",\n      \"resolved\": \"https://registry.example/pkg-%d/-/pkg-%d-1.%d.0.tgz\",\n      \"integrity\": \"sha512-%064d\",\n      \"dependencies\": {\"pkg-%d\": \"^1.0.0\"}\n    }", i, i, i, i, i, i, (i+1)%5000)
	}
	sb.WriteString("\n  }\n}\n")
	p := write(b, b.TempDir(), "package-lock.json", sb.String())
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pkgs, err := Parse(context.Background(), p)
		if err != nil || len(pkgs) != 5000 {
			b.Fatal(err, len(pkgs))
		}
	}
}
