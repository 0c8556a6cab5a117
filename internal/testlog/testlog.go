// Package testlog captures a function's log output in tests: a Buffer that
// concurrent requests may write to while the test reads it, and its JSON
// lines decoded. It depends on nothing of the project, so that every
// package's tests can use it.
package testlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// Buffer is an io.Writer safe for concurrent use. The zero value is ready.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines decodes every line written so far as a JSON object; a line that is
// not one fails the test.
func (b *Buffer) Lines(tb testing.TB) []map[string]any {
	tb.Helper()
	return Lines(tb, b.String())
}

// Messages returns the lines written so far whose "msg" is msg; a line
// that is not a JSON object fails the test.
func (b *Buffer) Messages(tb testing.TB, msg string) []map[string]any {
	tb.Helper()
	return Messages(tb, b.String(), msg)
}

// Lines decodes every line of text, a log, as a JSON object; a line that
// is not one fails the test. Blank lines are skipped.
func Lines(tb testing.TB, text string) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(text), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			tb.Fatalf("log line is not JSON: %v: %s", err, l)
		}
		out = append(out, m)
	}
	return out
}

// Messages returns the lines of text, a log, whose "msg" is msg; a line
// that is not a JSON object fails the test.
func Messages(tb testing.TB, text, msg string) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, l := range Lines(tb, text) {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}
