package events

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The walk below reads Warden's source (without type-checking it) and finds
// every action name the audit log can be written with: the Action field of
// each auditlog.Event or auditlog.Entry literal, followed back through
// string constants, local variables, concatenations and the parameters of
// the functions that pass it on, to the literals at their call sites.
// Anything it cannot follow back to literals is reported: an action
// computed in a way the walk does not understand cannot be checked against
// the catalogue, so it fails the test as an unknown action would.

const modulePath = "github.com/warden-sec/warden"

// walkRoots are the directories whose code writes the audit log (bench/
// holds load generators with made-up actions, and no test code counts).
var walkRoots = []string{"core", "commands", "scanners", "internal"}

type pkg struct {
	path  string // import path
	files []*ast.File
	// scope holds package-level constants and variables by name.
	scope map[string]*ast.ValueSpec
}

type walker struct {
	root  string
	fset  *token.FileSet
	pkgs  map[string]*pkg // by import path
	order []string
	// params maps a parameter's declaration to its function and index.
	params map[*ast.Field]paramRef
	// decls are every function and method declaration, in every package.
	decls []*ast.FuncDecl
	// fileOf maps a declaration to its file (for imports).
	fileOf map[*ast.FuncDecl]*ast.File
	pkgOf  map[*ast.FuncDecl]*pkg

	memo     map[paramKey][]value
	visiting map[paramKey]bool
	found    map[string][]string // action → where it is written
	problems []string
}

type paramRef struct {
	fn    *ast.FuncDecl // nil for a function literal
	index int
}

type paramKey struct {
	fn    *ast.FuncDecl
	index int
}

// value is a string an expression can hold and where it is written.
type value struct{ s, at string }

// site is where an expression is evaluated.
type site struct {
	p    *pkg
	file *ast.File
	fn   *ast.FuncDecl // nil at package level
}

// loadModule parses the non-test Go files under each of roots in the
// module at root.
func loadModule(t *testing.T, root string, roots []string) *walker {
	t.Helper()
	root, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	w := &walker{root: root, fset: token.NewFileSet(), pkgs: map[string]*pkg{}, params: map[*ast.Field]paramRef{},
		fileOf: map[*ast.FuncDecl]*ast.File{}, pkgOf: map[*ast.FuncDecl]*pkg{},
		memo: map[paramKey][]value{}, visiting: map[paramKey]bool{}, found: map[string][]string{}}
	for _, r := range roots {
		err := filepath.WalkDir(filepath.Join(root, r), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(w.fset, path, nil, 0)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			ip := modulePath + "/" + filepath.ToSlash(rel)
			p := w.pkgs[ip]
			if p == nil {
				p = &pkg{path: ip, scope: map[string]*ast.ValueSpec{}}
				w.pkgs[ip] = p
				w.order = append(w.order, ip)
			}
			p.files = append(p.files, f)
			w.index(p, f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(w.order)
	return w
}

func (w *walker) index(p *pkg, f *ast.File) {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			for _, s := range d.Specs {
				if vs, ok := s.(*ast.ValueSpec); ok {
					for _, n := range vs.Names {
						p.scope[n.Name] = vs
					}
				}
			}
		case *ast.FuncDecl:
			w.decls = append(w.decls, d)
			w.fileOf[d], w.pkgOf[d] = f, p
			i := 0
			for _, fld := range d.Type.Params.List {
				w.params[fld] = paramRef{fn: d, index: i}
				i += max(1, len(fld.Names))
			}
			ast.Inspect(d, func(n ast.Node) bool {
				if fl, ok := n.(*ast.FuncLit); ok {
					for _, fld := range fl.Type.Params.List {
						w.params[fld] = paramRef{}
					}
				}
				return true
			})
		}
	}
}

// run finds every place an action is written.
func (w *walker) run() {
	for _, ip := range w.order {
		p := w.pkgs[ip]
		for _, f := range p.files {
			for _, d := range f.Decls {
				fn, _ := d.(*ast.FuncDecl)
				w.sinks(site{p: p, file: f, fn: fn}, d)
			}
		}
	}
}

// sinks finds the event literals in n.
func (w *walker) sinks(c site, n ast.Node) {
	ast.Inspect(n, func(n ast.Node) bool {
		cl, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		if w.isEventType(c, cl.Type) {
			w.sink(c, cl)
		} else if at, ok := cl.Type.(*ast.ArrayType); ok && w.isEventType(c, at.Elt) {
			for _, el := range cl.Elts {
				if inner, ok := el.(*ast.CompositeLit); ok && inner.Type == nil {
					w.sink(c, inner)
				}
			}
		}
		return true
	})
}

// isEventType reports whether e names auditlog.Event or auditlog.Entry.
func (w *walker) isEventType(c site, e ast.Expr) bool {
	const auditlog = modulePath + "/core/auditlog"
	switch e := e.(type) {
	case *ast.Ident:
		return c.p.path == auditlog && (e.Name == "Event" || e.Name == "Entry")
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		return ok && importPath(c.file, x.Name) == auditlog && (e.Sel.Name == "Event" || e.Sel.Name == "Entry")
	}
	return false
}

func (w *walker) sink(c site, cl *ast.CompositeLit) {
	for _, el := range cl.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "Action" {
			continue
		}
		vals, err := w.eval(c, kv.Value)
		if err != nil {
			w.problems = append(w.problems, fmt.Sprintf("%s: %v", w.where(kv.Value), err))
			continue
		}
		for _, v := range vals {
			w.found[v.s] = append(w.found[v.s], v.at)
		}
	}
}

// copiesAction reports whether e is built from another event's Action
// field (ev.Action, clip(ev.Action)).
func copiesAction(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok && s.Sel.Name == "Action" {
			found = true
		}
		return !found
	})
	return found
}

func (w *walker) where(n ast.Node) string {
	pos := w.fset.Position(n.Pos())
	if rel, err := filepath.Rel(w.root, pos.Filename); err == nil {
		pos.Filename = filepath.ToSlash(rel)
	}
	return fmt.Sprintf("%s:%d", pos.Filename, pos.Line)
}

// eval returns every string e can hold. The action of another event
// (ev.Action, clip(ev.Action)) is none: it is counted where that event is
// made.
func (w *walker) eval(c site, e ast.Expr) ([]value, error) {
	if copiesAction(e) {
		return nil, nil
	}
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return nil, fmt.Errorf("action %s is not a string", e.Value)
		}
		s, err := strconv.Unquote(e.Value)
		return []value{{s, w.where(e)}}, err
	case *ast.ParenExpr:
		return w.eval(c, e.X)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return nil, fmt.Errorf("cannot follow the action through %s", e.Op)
		}
		l, err := w.eval(c, e.X)
		if err != nil {
			return nil, err
		}
		r, err := w.eval(c, e.Y)
		if err != nil {
			return nil, err
		}
		var out []value
		for _, a := range l {
			for _, b := range r {
				out = append(out, value{a.s + b.s, a.at})
			}
		}
		return out, nil
	case *ast.Ident:
		return w.evalIdent(c, e)
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if p := w.pkgs[importPath(c.file, x.Name)]; p != nil {
				if vs := p.scope[e.Sel.Name]; vs != nil {
					return w.evalSpec(site{p: p, file: fileDeclaring(p, vs)}, vs, e.Sel.Name)
				}
			}
		}
	}
	return nil, fmt.Errorf("cannot tell which action %s is; write it as a string constant", exprString(w.fset, e))
}

func (w *walker) evalIdent(c site, id *ast.Ident) ([]value, error) {
	if id.Obj != nil {
		switch d := id.Obj.Decl.(type) {
		case *ast.Field:
			ref, ok := w.params[d]
			if !ok || ref.fn == nil {
				return nil, fmt.Errorf("cannot follow the action %s through a function literal's parameter", id.Name)
			}
			index := ref.index
			for i, n := range d.Names {
				if n.Name == id.Name {
					index += i
				}
			}
			vals, err := w.param(ref.fn, index)
			if err != nil {
				return nil, err
			}
			more, err := w.assigned(c, id.Obj)
			return append(vals, more...), err
		case *ast.ValueSpec:
			if c.fn == nil {
				return w.evalSpec(c, d, id.Name)
			}
			vals, err := w.evalSpec(c, d, id.Name)
			if err != nil {
				return nil, err
			}
			more, err := w.assigned(c, id.Obj)
			return append(vals, more...), err
		case *ast.AssignStmt:
			return w.assigned(c, id.Obj)
		}
		return nil, fmt.Errorf("cannot follow the action %s", id.Name)
	}
	// Not resolved within the file: a package-level name in another file.
	if vs := c.p.scope[id.Name]; vs != nil {
		return w.evalSpec(site{p: c.p, file: fileDeclaring(c.p, vs)}, vs, id.Name)
	}
	return nil, fmt.Errorf("cannot follow the action %s", id.Name)
}

// evalSpec evaluates the value a var or const spec gives name.
func (w *walker) evalSpec(c site, vs *ast.ValueSpec, name string) ([]value, error) {
	for i, n := range vs.Names {
		if n.Name != name {
			continue
		}
		if len(vs.Values) == 0 {
			return nil, nil // declared without a value: see its assignments
		}
		if len(vs.Values) != len(vs.Names) {
			return nil, fmt.Errorf("cannot follow the action %s through a multi-value declaration", name)
		}
		return w.eval(c, vs.Values[i])
	}
	return nil, fmt.Errorf("cannot follow the action %s", name)
}

// assigned evaluates every assignment to obj in the enclosing function.
func (w *walker) assigned(c site, obj *ast.Object) ([]value, error) {
	if c.fn == nil || c.fn.Body == nil {
		return nil, nil
	}
	var out []value
	var err error
	ast.Inspect(c.fn.Body, func(n ast.Node) bool {
		if err != nil {
			return false
		}
		switch s := n.(type) {
		case *ast.AssignStmt:
			for i, l := range s.Lhs {
				id, ok := l.(*ast.Ident)
				if !ok || id.Obj != obj {
					continue
				}
				if len(s.Lhs) != len(s.Rhs) {
					err = fmt.Errorf("cannot follow the action %s through a multi-value assignment", id.Name)
					return false
				}
				var vals []value
				if vals, err = w.eval(c, s.Rhs[i]); err != nil {
					return false
				}
				out = append(out, vals...)
			}
		case *ast.RangeStmt:
			for _, x := range []ast.Expr{s.Key, s.Value} {
				if id, ok := x.(*ast.Ident); ok && id.Obj == obj {
					err = fmt.Errorf("cannot follow the action %s through a range loop", id.Name)
					return false
				}
			}
		}
		return true
	})
	return out, err
}

// param returns every value passed as argument index of fn, at every call
// of fn in the module.
func (w *walker) param(fn *ast.FuncDecl, index int) ([]value, error) {
	key := paramKey{fn, index}
	if v, ok := w.memo[key]; ok {
		return v, nil
	}
	if w.visiting[key] {
		return nil, nil // a recursive call adds nothing new
	}
	w.visiting[key] = true
	defer delete(w.visiting, key)
	home := w.pkgOf[fn]
	nparams := 0
	variadic := false
	for _, f := range fn.Type.Params.List {
		nparams += max(1, len(f.Names))
		if _, ok := f.Type.(*ast.Ellipsis); ok {
			variadic = true
		}
	}
	var out []value
	calls := 0
	for _, d := range w.decls {
		p, f := w.pkgOf[d], w.fileOf[d]
		if p != home && !fn.Name.IsExported() {
			continue
		}
		var err error
		ast.Inspect(d, func(n ast.Node) bool {
			if err != nil {
				return false
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || !w.calls(p, f, call, fn, home) {
				return true
			}
			if len(call.Args) != nparams && !(variadic && len(call.Args) >= nparams-1) {
				return true
			}
			if index >= len(call.Args) {
				return true
			}
			calls++
			var vals []value
			vals, err = w.eval(site{p: p, file: f, fn: d}, call.Args[index])
			if err != nil {
				err = fmt.Errorf("%s: %w", w.where(call.Args[index]), err)
				return false
			}
			out = append(out, vals...)
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	if calls == 0 {
		return nil, fmt.Errorf("%s passes an action on but is never called with one", fn.Name.Name)
	}
	w.memo[key] = out
	return out, nil
}

// calls reports whether call (in package p, file f) may call fn, declared
// in package home: by name, since the walk has no types.
func (w *walker) calls(p *pkg, f *ast.File, call *ast.CallExpr, fn *ast.FuncDecl, home *pkg) bool {
	switch x := call.Fun.(type) {
	case *ast.Ident:
		return fn.Recv == nil && p == home && x.Name == fn.Name.Name
	case *ast.SelectorExpr:
		if x.Sel.Name != fn.Name.Name {
			return false
		}
		if id, ok := x.X.(*ast.Ident); ok && id.Obj == nil {
			if ip := importPath(f, id.Name); ip != "" {
				return fn.Recv == nil && ip == home.path
			}
		}
		return fn.Recv != nil
	}
	return false
}

// importPath returns the path a file imports under name, or "".
func importPath(f *ast.File, name string) string {
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		n := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			n = im.Name.Name
		}
		if n == name {
			return p
		}
	}
	return ""
}

func fileDeclaring(p *pkg, vs *ast.ValueSpec) *ast.File {
	for _, f := range p.files {
		if f.Pos() <= vs.Pos() && vs.End() <= f.End() {
			return f
		}
	}
	return nil
}

func exprString(fset *token.FileSet, e ast.Expr) string {
	var b strings.Builder
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(id.Name)
		}
		return true
	})
	if b.Len() == 0 {
		return fset.Position(e.Pos()).String()
	}
	return b.String()
}

// writtenActions walks the module at root and returns each action with
// the places that write it, and what the walk could not follow.
func writtenActions(t *testing.T, root string, roots []string) (map[string][]string, []string) {
	t.Helper()
	w := loadModule(t, root, roots)
	w.run()
	return w.found, w.problems
}
