package devtools

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// StripeMockVersion is the stripe-mock release `make tools` installs and the
// project tests against (the Makefile's STRIPE_MOCK_VERSION).
const StripeMockVersion = "v0.203.0"

// StripeMockKey is an API key stripe-mock accepts.
const StripeMockKey = "sk_test_123"

// StripeMock returns the path of the stripe-mock binary: $STRIPE_MOCK (read
// with getenv) when set, else <repo>/bin/stripe-mock, else stripe-mock on
// PATH. The error says how to install it.
func StripeMock(getenv func(string) string) (string, error) {
	if p := getenv("STRIPE_MOCK"); p != "" {
		return p, nil
	}
	p, err := Find("stripe-mock")
	if err != nil {
		return "", fmt.Errorf("%w (it runs GOBIN=$PWD/bin go install github.com/stripe/stripe-mock@%s), or set STRIPE_MOCK to its path", err, StripeMockVersion)
	}
	return p, nil
}

// StripeMockSpec is the path of stripe-mock's OpenAPI specification in its
// module, the one the stripe-mock binary embeds and serves.
const StripeMockSpec = "embedded/openapi/spec3.json"

// StripeMockModule returns the directory of stripe-mock's module, at
// StripeMockVersion, in the Go module cache (where `make tools` downloads
// it): the OpenAPI specification and fixtures stripe-mock serves are in
// it. The error says to run `make tools`.
func StripeMockModule() (string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "stripe", "stripe-mock@"+StripeMockVersion)
	if _, err := os.Stat(filepath.Join(dir, StripeMockSpec)); err != nil {
		return "", fmt.Errorf("stripe-mock %s's OpenAPI specification: %w: run `make tools`, which downloads it", StripeMockVersion, err)
	}
	return dir, nil
}

// RunStripeMock starts stripe-mock from bin on free loopback ports and
// returns its HTTP base URL, e.g. "http://127.0.0.1:41234", and a function
// that stops it and waits for it to exit. It waits at most 30 s for the
// process to report its address. Cancelling ctx stops it too.
func RunStripeMock(ctx context.Context, bin string) (url string, stop func(), err error) {
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
				select {
				case found <- addr:
				default:
				}
			}
		}
		close(found)
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case addr, ok := <-found:
		if !ok {
			stop()
			return "", nil, fmt.Errorf("stripe-mock (%s) exited without listening", bin)
		}
		return "http://" + addr, stop, nil
	case <-timer.C:
		stop()
		return "", nil, fmt.Errorf("stripe-mock (%s) did not report its address within 30 s", bin)
	}
}
