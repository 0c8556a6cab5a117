// Package stripemock starts a real stripe-mock process for tests, listening
// on loopback ports the system chooses, and stops it when the test ends.
//
// The binary is found at $STRIPE_MOCK, then bin/stripe-mock under the module
// root (where `make tools` installs it), then on PATH. When it is missing the
// test fails, saying how to install it; it never skips.
package stripemock

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Version is the stripe-mock release the project tests against.
const Version = "v0.203.0"

// Key is an API key stripe-mock accepts.
const Key = "sk_test_123"

// Binary returns the path of the stripe-mock binary, or an error that says
// how to install it.
func Binary() (string, error) {
	if p := os.Getenv("STRIPE_MOCK"); p != "" {
		return p, nil
	}
	if root, err := moduleRoot(); err == nil {
		p := filepath.Join(root, "bin", "stripe-mock")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("stripe-mock not found: run `make tools` (it runs GOBIN=$PWD/bin go install github.com/stripe/stripe-mock@%s) or set STRIPE_MOCK to its path", Version)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Start runs stripe-mock for the rest of the test and returns its HTTP base
// URL, e.g. "http://127.0.0.1:41234".
func Start(tb testing.TB) string {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		tb.Fatal(err)
	}
	url, stop, err := Run(context.Background(), bin)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return url
}

// Run starts stripe-mock from bin on loopback and returns its HTTP base URL
// and a function that stops it. It waits at most 30 s for the process to
// report its address.
func Run(ctx context.Context, bin string) (url string, stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		cancel()
		return "", nil, fmt.Errorf("starting stripe-mock: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		pw.Close()
		close(exited)
	}()
	stop = func() {
		cancel()
		<-exited
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() { // drains the output until the process exits
			if addr, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				found <- addr
			}
		}
		close(found)
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			stop()
			return "", nil, fmt.Errorf("stripe-mock exited without listening")
		}
		return "http://" + addr, stop, nil
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, fmt.Errorf("stripe-mock did not report its address within 30 s")
	}
}
