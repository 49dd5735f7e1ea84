package commands

// The HTML report rendered in headless Chromium (Debian's, found as the
// gateway's browser tests find it): it must render its charts and tables
// from the file alone, with no network request at all.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/warden-sec/warden/internal/browsertest"
)

// pageVisit is what loading one file in Chromium showed.
type pageVisit struct {
	requests []string // every URL the page asked for, the page itself included
	console  []string
	ctx      context.Context
}

// visit opens path in a fresh headless Chromium with network events on.
func visit(t *testing.T, path string) *pageVisit {
	t.Helper()
	ctx := browsertest.Start(t, 1280, 900)
	v := &pageVisit{ctx: ctx}
	var mu sync.Mutex
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			v.requests = append(v.requests, e.Request.URL)
		case *network.EventLoadingFailed:
			v.console = append(v.console, "loading failed: "+e.ErrorText)
		}
	}); err != nil {
		t.Fatal(err)
	}
	run, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Call(run, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable network events: %v", err)
	}
	if err := chromedp.Do(run, chromedp.Navigate("file://"+path)); err != nil {
		t.Fatalf("open %s in Chromium: %v", path, err)
	}
	// Let late requests (images, fonts, prefetches) show up.
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	v.requests = append([]string(nil), v.requests...)
	return v
}

// foreign lists the requests other than the file itself and data: URLs.
func (v *pageVisit) foreign(self string) []string {
	var out []string
	for _, u := range v.requests {
		if u != "file://"+self && !strings.HasPrefix(u, "data:") {
			out = append(out, u)
		}
	}
	return out
}

func TestReportHTMLInChromium(t *testing.T) {
	f := newReportFixture(t)
	path := filepath.Join(f.root, "evidence.html")
	f.must(t, "", "report", "-o", path, "--deps-json", filepath.Join(pkgDir, "testdata", "deps", "scan.json"),
		"--release-notes-json", filepath.Join(pkgDir, "testdata", "report", "notes.json"))
	v := visit(t, path)
	if got := v.foreign(path); len(got) > 0 || len(v.console) > 0 {
		t.Errorf("the report made network requests %v (%v); it must be self-contained", got, v.console)
	}
	if len(v.requests) == 0 {
		t.Error("no request seen at all, not even the page: the network listener is not working")
	}

	ctx, cancel := context.WithTimeout(v.ctx, 20*time.Second)
	defer cancel()
	eval := func(expr string) any {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	svgs := eval(`document.querySelectorAll('svg[role=img]').length`)
	rows := eval(`document.querySelectorAll('table')[0].querySelectorAll('tbody tr').length`)
	controls := eval(`document.querySelectorAll('div.control').length`)
	scoreLabel := eval(`document.querySelector('svg[aria-label^="audit score"]').getAttribute('aria-label')`)
	firstFail := eval(`(document.querySelector('div.control.st-FAIL h3')||{}).textContent||''`)
	chartsWidth := eval(`document.querySelector('section.cards').getBoundingClientRect().width`)
	if !strings.HasPrefix(title, "Warden compliance evidence") || svgs != 4.0 || rows != 30.0 || controls != 30.0 || scoreLabel != "audit score 100 of 100" {
		t.Errorf("title %q, %v charts, %v table rows, %v controls, score %q", title, svgs, rows, controls, scoreLabel)
	}
	if w, _ := chartsWidth.(float64); !strings.Contains(fmt.Sprint(firstFail), "FAIL") || w < 600 {
		t.Errorf("first FAIL control %q, charts %v px wide", firstFail, chartsWidth)
	}

	// A full-page screenshot, and the page printed to PDF (print styles).
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	top, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{})
	if err != nil {
		t.Fatal(err)
	}
	eval(`document.querySelector('div.control.st-EXCEPTION').scrollIntoView()`)
	evidence, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{})
	if err != nil {
		t.Fatal(err)
	}
	// Print media: the print styles apply (no page padding, the three
	// charts side by side) and the status colours are kept.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	eval(`window.scrollTo(0, 0)`)
	padding := eval(`getComputedStyle(document.body).paddingTop`)
	columns := eval(`getComputedStyle(document.querySelector('section.cards')).gridTemplateColumns.split(' ').length`)
	adjust := eval(`getComputedStyle(document.querySelector('.badge')).printColorAdjust`)
	if padding != "0px" || columns != 3.0 || adjust != "exact" {
		t.Errorf("print styles: body padding %v, %v chart columns, print-color-adjust %v", padding, columns, adjust)
	}
	printed, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	res, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{PrintBackground: &yes})
	if err != nil {
		t.Fatal(err)
	}
	pdf := res.Data
	for name, data := range map[string][]byte{"report.png": png, "report-top.png": top.Data, "report-evidence.png": evidence.Data, "report-print.png": printed.Data, "report.pdf": pdf} {
		out := filepath.Join(t.ArtifactDir(), name)
		if err := os.WriteFile(out, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s (%d bytes)", name, out, len(data))
	}
	if !strings.HasPrefix(string(pdf), "%PDF") || len(png) < 10000 {
		t.Errorf("PDF starts %q, screenshot %d bytes", pdf[:min(len(pdf), 8)], len(png))
	}
}

// The request check can fail: a page that loads an image from a server
// is caught.
func TestReportNetworkCheckCatchesRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "leaky.html")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(`<!DOCTYPE html><title>x</title><img src="%s/pixel.png">`, srv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	v := visit(t, path)
	if got := v.foreign(path); len(got) != 1 || !strings.HasPrefix(got[0], srv.URL) {
		t.Errorf("requests %v: the check missed the image", v.requests)
	}
}
