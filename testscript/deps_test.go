package testscript

import (
	"archive/zip"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
)

// osvzip OUT.zip FILE... writes an OSV export: a zip with one JSON record
// per member, as OSV publishes ECOSYSTEM/all.zip.
func cmdOSVZip(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || neg {
		ts.Fatalf("usage: osvzip OUT.zip FILE...")
	}
	ts.Check(os.MkdirAll(filepath.Dir(ts.MkAbs(args[0])), 0o755))
	f, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	zw := zip.NewWriter(f)
	for _, name := range args[1:] {
		w, err := zw.Create(filepath.Base(name))
		ts.Check(err)
		_, err = w.Write([]byte(ts.ReadFile(name)))
		ts.Check(err)
	}
	ts.Check(zw.Close())
	ts.Check(f.Close())
}

// httpdir DIR VAR serves DIR over HTTP on 127.0.0.1 until the script ends
// and sets VAR to its URL. Missing files answer 404.
func cmdHTTPDir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: httpdir DIR VAR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: http.FileServer(http.Dir(ts.MkAbs(args[0])))}
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	ts.Setenv(args[1], "http://"+ln.Addr().String())
}

// whichexe NAME VAR sets VAR to the path of the command NAME.
func cmdWhichExe(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: whichexe NAME VAR")
	}
	p, err := exec.LookPath(args[0])
	ts.Check(err)
	ts.Setenv(args[1], p)
}
