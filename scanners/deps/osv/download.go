package osv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// ErrTooLarge is returned when a download exceeds its size limit.
var ErrTooLarge = errors.New("download larger than the limit")

// Progress reports bytes done and the total (-1 when unknown).
type Progress func(done, total int64)

// Download fetches url into w, at most max bytes.
func Download(ctx context.Context, client *http.Client, url string, w io.Writer, max int64, progress Progress) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if resp.ContentLength > max {
		return 0, fmt.Errorf("GET %s: %w (%d bytes, limit %d)", url, ErrTooLarge, resp.ContentLength, max)
	}
	pr := &progressReader{r: io.LimitReader(resp.Body, max+1), total: resp.ContentLength, fn: progress}
	n, err := io.Copy(w, pr)
	if err != nil {
		return n, fmt.Errorf("GET %s: %w", url, err)
	}
	if n > max {
		return n, fmt.Errorf("GET %s: %w (limit %d)", url, ErrTooLarge, max)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("GET %s: short body (%d of %d bytes)", url, n, resp.ContentLength)
	}
	return n, nil
}

type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    Progress
	last  time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.fn != nil && (err != nil || time.Since(p.last) > 100*time.Millisecond) {
		p.last = time.Now()
		p.fn(p.done, p.total)
	}
	return n, err
}

// FetchZip downloads a zip export to a temporary file in the database
// directory and reads it. The temporary file is removed afterwards.
func (db *DB) FetchZip(ctx context.Context, client *http.Client, url string, max int64, progress Progress) (*Batch, error) {
	if err := os.MkdirAll(db.Dir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(db.Dir, ".download-*.zip")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := Download(ctx, client, url, tmp, max, progress)
	if err != nil {
		return nil, err
	}
	return ReadZip(ctx, url, tmp, n)
}

// ExportURL is where base publishes an ecosystem's all.zip.
func ExportURL(base, ecosystem string) string {
	return strings.TrimSuffix(base, "/") + "/" + ecosystem + "/all.zip"
}

// UpdateResult is the outcome for one ecosystem.
type UpdateResult struct {
	Ecosystem string
	Info      Info
	Err       error
}

// Update downloads and imports each ecosystem's export. A failed download
// or a bad archive leaves that ecosystem's previous database in place.
func (db *DB) Update(ctx context.Context, client *http.Client, base string, ecosystems []string, max int64, now func() time.Time, progress func(ecosystem string) Progress) []UpdateResult {
	out := make([]UpdateResult, 0, len(ecosystems))
	for _, e := range ecosystems {
		res := UpdateResult{Ecosystem: e}
		var pr Progress
		if progress != nil {
			pr = progress(e)
		}
		b, err := db.FetchZip(ctx, client, ExportURL(base, e), max, pr)
		if err == nil {
			// Only this ecosystem is replaced, even if records name others.
			b.Records = keepEcosystem(b.Records, e)
			var infos []Info
			if infos, err = db.Import(ctx, []*Batch{b}, now()); err == nil && len(infos) == 1 {
				res.Info = infos[0]
			} else if err == nil {
				err = fmt.Errorf("%s: the export names no %s package", b.Source, e)
			}
		}
		res.Err = err
		out = append(out, res)
	}
	return out
}

func keepEcosystem(recs []*Record, e string) []*Record {
	out := recs[:0]
	for _, r := range recs {
		keep := false
		for i := range r.Affected {
			if BaseEcosystem(r.Affected[i].Package.Ecosystem) == e {
				keep = true
			} else {
				r.Affected[i].Package.Ecosystem = ""
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out
}
