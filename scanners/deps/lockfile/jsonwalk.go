package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jsonWalker streams a JSON document and reports the line of each key or
// array element, so findings can point at the lockfile line.
type jsonWalker struct {
	file  string
	data  []byte
	dec   *json.Decoder
	lines lineIndex
	// valueStart is where the value being decoded starts.
	valueStart int64
}

func newJSONWalker(file string, data []byte) *jsonWalker {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return &jsonWalker{file: file, data: data, dec: dec, lines: newLineIndex(data)}
}

// fail turns a decoding error into a ParseError with the line.
func (w *jsonWalker) fail(err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// The decoder's offsets are relative to its buffer; validating the
		// whole document finds the same error at its absolute offset.
		off := se.Offset
		var abs *json.SyntaxError
		var v struct{}
		if errors.As(json.Unmarshal(w.data, &v), &abs) {
			off, se = abs.Offset, abs
		}
		return &ParseError{File: w.file, Line: w.lines.line(off - 1), Msg: "invalid JSON", Err: se}
	case errors.As(err, &te):
		// Type errors are relative to the value being decoded.
		return &ParseError{File: w.file, Line: w.lines.line(w.valueStart + te.Offset - 1), Msg: "unexpected JSON value", Err: te}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ParseError{File: w.file, Line: w.lines.line(int64(len(w.data))), Msg: "unexpected end of JSON"}
	}
	return &ParseError{File: w.file, Line: w.lines.line(w.dec.InputOffset()), Err: err}
}

// nextLine is the line of the next value after the decoder's position.
func (w *jsonWalker) nextLine() int {
	return w.lines.line(w.nextOffset())
}

func (w *jsonWalker) nextOffset() int64 {
	off := w.dec.InputOffset()
	for off < int64(len(w.data)) {
		switch w.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (w *jsonWalker) expect(d json.Delim) error {
	line := w.nextLine()
	t, err := w.dec.Token()
	if err != nil {
		return w.fail(err)
	}
	if t != d {
		return perr(w.file, line, "expected %q, found %v", d, t)
	}
	return nil
}

// object walks an object; fn is called with each key and its line and must
// consume the value (decode, skip or walk it).
func (w *jsonWalker) object(fn func(key string, line int) error) error {
	if err := w.expect('{'); err != nil {
		return err
	}
	for w.dec.More() {
		line := w.nextLine()
		t, err := w.dec.Token()
		if err != nil {
			return w.fail(err)
		}
		key, ok := t.(string)
		if !ok {
			return perr(w.file, line, "expected an object key")
		}
		if err := fn(key, line); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return w.fail(err)
	}
	return nil
}

// array walks an array; fn must consume each element.
func (w *jsonWalker) array(fn func(line int) error) error {
	if err := w.expect('['); err != nil {
		return err
	}
	for w.dec.More() {
		if err := fn(w.nextLine()); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return w.fail(err)
	}
	return nil
}

func (w *jsonWalker) decode(v any) error {
	w.valueStart = w.nextOffset()
	if err := w.dec.Decode(v); err != nil {
		return w.fail(err)
	}
	return nil
}

func (w *jsonWalker) skip() error {
	var raw json.RawMessage
	return w.decode(&raw)
}

// end checks nothing follows the document.
func (w *jsonWalker) end() error {
	if _, err := w.dec.Token(); err != io.EOF {
		if err != nil {
			return w.fail(err)
		}
		return perr(w.file, w.nextLine(), "unexpected data after the JSON document")
	}
	return nil
}

func (w *jsonWalker) wrongShape(line int, what string) error {
	return perr(w.file, line, "%s", fmt.Sprintf("expected %s", what))
}
