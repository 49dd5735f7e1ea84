package gitpack

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// samples are inputs of the shapes deflate handles differently: nothing,
// a byte, commit-like text (a dynamic block with few symbols), random
// bytes (stored blocks), long runs (overlapping copies), and text long
// enough for several blocks and distances of 32 KiB.
func samples() map[string][]byte {
	rng := rand.New(rand.NewPCG(7, 11))
	random := make([]byte, 70000)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	var text strings.Builder
	words := strings.Fields("tree parent author committer feat fix docs the a to of handle reject cache <dev@example.com> 1627113060 +0000")
	for text.Len() < 200000 {
		text.WriteString(words[rng.IntN(len(words))])
		if rng.IntN(9) == 0 {
			text.WriteString("\n")
		} else {
			text.WriteString(" ")
		}
	}
	commit := "tree 765d62cc3f03ab0ccc045c6eb8f35690b1cfcb03\nparent c92c3a5bec25e8e43cac166c7cd3001b5f94f400\n" +
		"author Dev 273 <dev273@example.com> 1627113060 +0000\ncommitter Dev 273 <dev273@example.com> 1627113060 +0000\n\n" +
		"feat(api): update support users (change 99995)\n\nCo-authored-by: Pair Programmer <pair@example.com>\n"
	return map[string][]byte{
		"empty":  {},
		"byte":   {'x'},
		"commit": []byte(commit),
		"random": random,
		"runs":   bytes.Repeat([]byte("ab"), 40000),
		"zeros":  make([]byte, 100000),
		"text":   []byte(text.String()),
		"mixed":  append(append([]byte(text.String()[:50000]), random[:20000]...), text.String()[:50000]...),
	}
}

func deflate(t testing.TB, data []byte, level int) []byte {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func TestInflateMatchesFlate(t *testing.T) {
	levels := []int{flate.NoCompression, flate.BestSpeed, 4, flate.DefaultCompression, flate.BestCompression, flate.HuffmanOnly}
	var d decoder
	for name, data := range samples() {
		for _, level := range levels {
			src := deflate(t, data, level)
			got := make([]byte, len(data))
			if err := d.inflateRaw(src, got); err != nil {
				t.Errorf("%s at level %d: %v", name, level, err)
				continue
			}
			if !bytes.Equal(got, data) {
				t.Errorf("%s at level %d: wrong output", name, level)
			}
		}
	}
}

// A zlib stream, as git writes objects: the header is checked and the
// trailing checksum left alone.
func TestInflateZlib(t *testing.T) {
	var z Inflater
	for name, data := range samples() {
		for _, level := range []int{zlib.BestSpeed, zlib.DefaultCompression, zlib.BestCompression} {
			var b bytes.Buffer
			w, _ := zlib.NewWriterLevel(&b, level)
			w.Write(data)
			w.Close()
			got := make([]byte, len(data))
			if err := z.inflate(b.Bytes(), got); err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s at level %d: %v", name, level, err)
			}
		}
	}
	if err := z.inflate([]byte{0x78, 0x9c ^ 1, 0, 0}, nil); err == nil {
		t.Error("a bad zlib header was accepted")
	}
	if err := z.inflate([]byte{0x78, 0xbb, 0, 0, 0, 0, 3, 0}, nil); err == nil {
		t.Error("a preset dictionary was accepted")
	}
}

// A stream cut short, or an output of the wrong size, is an error, never
// a panic or a short read.
func TestInflateCorrupt(t *testing.T) {
	var d decoder
	data := samples()["commit"]
	src := deflate(t, data, flate.DefaultCompression)
	for n := 0; n < len(src); n++ {
		if err := d.inflateRaw(src[:n], make([]byte, len(data))); err == nil {
			t.Fatalf("a stream cut to %d of %d bytes decoded", n, len(src))
		}
	}
	for _, size := range []int{0, len(data) - 1, len(data) + 1} {
		if err := d.inflateRaw(src, make([]byte, size)); err == nil {
			t.Errorf("decoded into %d bytes, the output is %d", size, len(data))
		}
	}
	for name, src := range map[string][]byte{
		"reserved block type":    {0x07},
		"stored length mismatch": {0x01, 0x05, 0x00, 0x00, 0x00},
		"too many lengths":       {0xfd, 0xff},
	} {
		if err := d.inflateRaw(src, make([]byte, 5)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzInflate checks the decoder against compress/flate: where flate
// decodes a stream, so does it, to the same bytes; where flate fails, it
// fails.
func FuzzInflate(f *testing.F) {
	for _, data := range samples() {
		if len(data) < 5000 {
			f.Add(deflate(f, data, flate.BestSpeed))
			f.Add(deflate(f, data, flate.DefaultCompression))
			f.Add(deflate(f, data, flate.HuffmanOnly))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		const limit = 1 << 20
		want, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(src)), limit+1))
		var d decoder
		if err == nil && len(want) <= limit {
			got := make([]byte, len(want))
			if err := d.inflateRaw(src, got); err != nil {
				t.Fatalf("flate decodes %d bytes, this fails: %v", len(want), err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("output differs from flate's")
			}
			return
		}
		if err != nil {
			for _, size := range []int{len(want), len(want) + 1, 2 * len(want)} {
				if size <= limit && d.inflateRaw(src, make([]byte, size)) == nil {
					t.Fatalf("flate fails (%v), this decodes %d bytes", err, size)
				}
			}
		}
	})
}

func BenchmarkInflateCommit(b *testing.B) {
	for _, name := range []string{"commit", "text"} {
		data := samples()[name]
		src := deflate(b, data, flate.DefaultCompression)
		b.Run(fmt.Sprintf("%s/%d", name, len(data)), func(b *testing.B) {
			var d decoder
			out := make([]byte, len(data))
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := d.inflateRaw(src, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
