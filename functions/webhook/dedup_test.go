package main

import (
	"path/filepath"
	"strings"
	"testing"

	"stripetask/internal/dedup/deduptest"
	"stripetask/internal/proctest"
	"stripetask/internal/stripemock"
)

// TestDedupTable runs the function with DEDUP_TABLE set, as deployed: a
// redelivered event is answered "duplicate" and its method not run again.
func TestDedupTable(t *testing.T) {
	deduptest.Table(t, "events")
	env := proctest.With(baseEnv(stripemock.Start(t)), "DEDUP_TABLE", "events")
	s := startServe(t, env)
	body := loadFixture(t, filepath.Join(fixturesDir, "checkout.session.completed.json")).body
	want := []string{`"handled"`, `"duplicate"`, `"duplicate"`}
	for i, w := range want {
		code, resp := s.post(t, body, localSecret)
		if code != 200 || !strings.Contains(resp, w) {
			t.Fatalf("delivery %d: %d %s, want %s", i, code, resp, w)
		}
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if n := strings.Count(s.Stderr.String(), `"msg":"checkout completed"`); n != 1 {
		t.Fatalf("the method ran %d times, want 1", n)
	}
}
