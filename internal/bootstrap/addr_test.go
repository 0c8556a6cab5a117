package bootstrap

import (
	"context"
	"strings"
	"testing"

	"stripetask/internal/leaktest"
	"stripetask/internal/testlog"
)

// TestServeDefaultsToLoopback: `webhook serve` and `pay serve` without
// -addr listen on loopback only, 127.0.0.1:3000 and 127.0.0.1:3001, as
// their usage says; -addr opts in to other interfaces
// (internal/transport's TestDefaultAddrLoopback).
func TestServeDefaultsToLoopback(t *testing.T) {
	for name, run := range map[string]func(Process) int{
		"127.0.0.1:3000": func(p Process) int { return Webhook(context.Background(), leaktest.Handler{}, p) },
		"127.0.0.1:3001": func(p Process) int { return Pay(context.Background(), p) },
	} {
		var stdout, stderr testlog.Buffer
		code := run(Process{Args: []string{"help"}, Getenv: func(string) string { return "" }, Stdout: &stdout, Stderr: &stderr})
		if code != 0 || !strings.Contains(stdout.String(), "(default address "+name+")") {
			t.Errorf("help: exit %d, usage:\n%s\nwant the default address %s", code, stdout.String(), name)
		}
	}
}
