// Package browsertest starts the system's headless Chromium for tests
// (the dashboard's and the report's): Debian's chromium, which
// scripts/test installs.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds Chromium: $WARDEN_CHROMIUM when set, else chromium on PATH,
// else /usr/bin/chromium. Without one the test fails (it never skips):
// scripts/test installs it.
func Path(t testing.TB) string {
	t.Helper()
	var candidates []string
	if p := os.Getenv("WARDEN_CHROMIUM"); p != "" {
		candidates = []string{p}
	} else {
		if p, err := exec.LookPath("chromium"); err == nil {
			candidates = append(candidates, p)
		}
		candidates = append(candidates, "/usr/bin/chromium")
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	t.Fatalf("Chromium not found (tried %s): run scripts/test, which installs it, or set WARDEN_CHROMIUM to a Chromium binary",
		strings.Join(candidates, ", "))
	return ""
}

// Start starts a headless Chromium with a fresh profile and one tab of the
// given size, and stops it when the test ends. The browser is up when
// Start returns (within 30 s, or the test fails).
func Start(t testing.TB, width, height int, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "chromium-profile")),
	}, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// The first Do starts the browser, which lives as long as that call's
	// context: the start is bounded from outside instead of by a timeout.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start Chromium: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Chromium did not start within 30 s")
	}
	return ctx
}
