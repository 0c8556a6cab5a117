package transport

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
)

// TestDefaultAddrLoopback: without -addr, serve listens on loopback only
// (a local function runs with whatever secrets its environment holds);
// -addr opts in to other interfaces. The default itself is checked rather
// than listened on, since port 3000 may be taken by `make run`.
func TestDefaultAddrLoopback(t *testing.T) {
	o := Options{}.withDefaults()
	host, port, err := net.SplitHostPort(o.DefaultAddr)
	if err != nil || host != "127.0.0.1" || port != "3000" {
		t.Fatalf("default address %q, want 127.0.0.1:3000", o.DefaultAddr)
	}
	var stdout bytes.Buffer
	Main(context.Background(), echoHandler, []string{"help"}, Options{Name: "webhook", Getenv: noEnv, Stdout: &stdout, Stderr: &bytes.Buffer{}})
	if !strings.Contains(stdout.String(), "(default address 127.0.0.1:3000)") {
		t.Errorf("the usage does not give the loopback default:\n%s", stdout.String())
	}
	var stderr bytes.Buffer
	Main(context.Background(), echoHandler, []string{"serve", "-h"}, Options{Name: "webhook", Getenv: noEnv, Stdout: &bytes.Buffer{}, Stderr: &stderr})
	if !strings.Contains(stderr.String(), `(default "127.0.0.1:3000")`) || !strings.Contains(stderr.String(), "0.0.0.0:PORT for every interface") {
		t.Errorf("serve -h does not say how to listen beyond loopback:\n%s", stderr.String())
	}
}
