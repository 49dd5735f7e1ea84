package gateway

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"

	"github.com/warden-sec/warden/core/auth"
)

// dashboardFS holds the dashboard: plain HTML, CSS and JavaScript, no build
// step. The CSP allows only these files to run.
//
//go:embed dashboard
var dashboardFS embed.FS

func (s *Server) dashboardIndex(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	return serveAsset(w, "index.html")
}

func (s *Server) dashboardAsset(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	name := r.PathValue("file")
	if name == "index.html" || path.Base(name) != name {
		return errNotFound
	}
	return serveAsset(w, name)
}

func serveAsset(w http.ResponseWriter, name string) error {
	data, err := fs.ReadFile(dashboardFS, "dashboard/"+name)
	if err != nil {
		return errNotFound
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}
