package testscript

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
	_ "modernc.org/sqlite"
)

// sqlexec DB SQL... runs statements on a database file directly, as an
// attacker with write access to the state dir would.
func cmdSQLExec(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: sqlexec DB SQL...")
	}
	db, err := sql.Open("sqlite", "file:"+ts.MkAbs(args[0])+"?_pragma=busy_timeout(5000)")
	ts.Check(err)
	defer db.Close()
	for _, q := range args[1:] {
		_, err := db.Exec(q)
		if (err != nil) != neg {
			ts.Fatalf("sqlexec %q: %v", q, err)
		}
	}
}

// sqllock DB holds an exclusive lock on a database until sqlunlock DB (or
// the end of the script), as a stuck or hostile process would.
func cmdSQLLock(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: sqllock DB")
	}
	db, err := sql.Open("sqlite", "file:"+ts.MkAbs(args[0]))
	ts.Check(err)
	conn, err := db.Conn(context.Background())
	ts.Check(err)
	_, err = conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE")
	ts.Check(err)
	release := func() {
		conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
	locksMu.Lock()
	locks[ts.MkAbs(args[0])] = release
	locksMu.Unlock()
	ts.Defer(func() {
		locksMu.Lock()
		defer locksMu.Unlock()
		if r, ok := locks[ts.MkAbs(args[0])]; ok {
			r()
			delete(locks, ts.MkAbs(args[0]))
		}
	})
}

var (
	locksMu sync.Mutex
	locks   = map[string]func(){}
)

func cmdSQLUnlock(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: sqlunlock DB")
	}
	locksMu.Lock()
	defer locksMu.Unlock()
	r, ok := locks[ts.MkAbs(args[0])]
	if !ok {
		ts.Fatalf("%s is not locked", args[0])
	}
	r()
	delete(locks, ts.MkAbs(args[0]))
}

// syslogd VAR FILE starts an RFC 5425/6587 (octet-counted) syslog receiver
// on a loopback port, sets VAR to its address, and appends every message
// it receives to FILE, one per line. It stops when the script ends.
func cmdSyslogd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: syslogd VAR FILE")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Setenv(args[0], ln.Addr().String())
	out := ts.MkAbs(args[1])
	var mu sync.Mutex
	ts.Defer(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					l, err := br.ReadString(' ')
					if err != nil {
						return
					}
					n, err := strconv.Atoi(strings.TrimSpace(l))
					if err != nil || n <= 0 || n > 1<<20 {
						return
					}
					msg := make([]byte, n)
					if _, err := io.ReadFull(br, msg); err != nil {
						return
					}
					mu.Lock()
					f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
					if err == nil {
						f.Write(append(msg, '\n'))
						f.Close()
					}
					mu.Unlock()
				}
			}(c)
		}
	}()
}

// httpsink VAR FILE starts an HTTP endpoint on loopback that accepts JSON
// arrays of audit entries (requiring the bearer token in $SINK_TOKEN when
// set), sets VAR to its URL, and appends each entry to FILE, one per line.
func cmdHTTPSink(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: httpsink VAR FILE")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	out := ts.MkAbs(args[1])
	token := ts.Getenv("SINK_TOKEN")
	var mu sync.Mutex
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var batch []json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		for _, e := range batch {
			f.Write(append(e, '\n'))
		}
	})}
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	ts.Setenv(args[0], "http://"+ln.Addr().String()+"/audit")
}
